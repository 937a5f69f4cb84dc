package metrics

import (
	"fmt"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestThrottleMetrics: the login_throttle series appear with their first
// event, count by protocol and rule, keep junk labels bounded, and the
// gauge follows the last store call.
func TestThrottleMetrics(t *testing.T) {
	m := New()
	if strings.Contains(scrape(t, m), "mailproxy_login_throttle") {
		t.Fatal("login_throttle series before any event")
	}
	m.LoginThrottled("imap", "user_ip")
	m.LoginThrottled("imap", "user_ip")
	m.LoginThrottled("smtp", "ip")
	for i := range 100 {
		junk := fmt.Sprintf("junk %d", i)
		m.LoginThrottled(junk, junk)
	}
	if v := testutil.ToFloat64(m.throttle.throttled.WithLabelValues("imap", "user_ip")); v != 2 {
		t.Errorf("imap/user_ip = %v", v)
	}
	if n := testutil.CollectAndCount(m.throttle.throttled); n != 3 {
		t.Errorf("%d series, want 3 (imap/user_ip, smtp/ip, other/other)", n)
	}
	m.ThrottleStore(true)
	m.ThrottleStore(false)
	if testutil.ToFloat64(m.throttle.healthy) != 0 {
		t.Errorf("after a failure: healthy %v", testutil.ToFloat64(m.throttle.healthy))
	}
	m.ThrottleStore(true)
	if testutil.ToFloat64(m.throttle.healthy) != 1 {
		t.Error("the gauge did not recover")
	}
	if out := scrape(t, m); !strings.Contains(out, `mailproxy_login_throttled_total{protocol="smtp",rule="ip"} 1`) || strings.Contains(out, "junk") {
		t.Errorf("exposition:\n%s", out)
	}
	var nilM *Metrics
	nilM.LoginThrottled("imap", "ip")
	nilM.ThrottleStore(false)
}
