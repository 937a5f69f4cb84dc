package metrics

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestTLSSessionStoreErrors: failures count by operation; an unknown
// operation counts as other; the series exist before the first failure.
func TestTLSSessionStoreErrors(t *testing.T) {
	m := New()
	if n := testutil.CollectAndCount(m.tlsStoreErrs); n != 2 {
		t.Fatalf("%d series at start", n)
	}
	m.TLSSessionStoreError("get")
	m.TLSSessionStoreError("get")
	m.TLSSessionStoreError("put")
	m.TLSSessionStoreError("bogus")
	for op, want := range map[string]float64{"get": 2, "put": 1, "other": 1} {
		if v := testutil.ToFloat64(m.tlsStoreErrs.WithLabelValues(op)); v != want {
			t.Errorf("%s: %v, want %v", op, v, want)
		}
	}
	var nilM *Metrics
	nilM.TLSSessionStoreError("get")
}
