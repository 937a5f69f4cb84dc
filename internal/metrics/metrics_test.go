package metrics

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"mailproxy/internal/outcome"
)

func scrape(t *testing.T, m *Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("/metrics: %d", rec.Code)
	}
	body, _ := io.ReadAll(rec.Body)
	return string(body)
}

func TestScrapeAfterEvents(t *testing.T) {
	m := New()
	m.SessionStarted("imap")
	m.SessionStarted("imap")
	m.SessionStarted("pop3")
	m.SessionEnded("imap", outcome.ClientClosed, 100, 2000, 3*time.Second)
	m.SessionEnded("pop3", outcome.BackendError, 5, 7, time.Second)
	m.AuthRequest("imap", "ok", 20*time.Millisecond)
	m.AuthRequest("imap", "fail", 30*time.Millisecond)
	m.AuthRequest("smtp", "weird", time.Millisecond)
	m.BackendFailure("smtp", "connect")
	m.TLSHandshake("imap", "TLSv1.3")
	m.TLSHandshake("imap", "failed")
	m.Reload(true)
	m.Reload(false)
	m.Reload(false)

	out := scrape(t, m)
	for _, want := range []string{
		`mailproxy_sessions_total{outcome="client_closed",protocol="imap"} 1`,
		`mailproxy_sessions_total{outcome="backend_error",protocol="pop3"} 1`,
		`mailproxy_sessions_active{protocol="imap"} 1`,
		`mailproxy_sessions_active{protocol="pop3"} 0`,
		`mailproxy_sessions_active{protocol="smtp"} 0`,
		`mailproxy_bytes_total{direction="to_backend",protocol="imap"} 100`,
		`mailproxy_bytes_total{direction="to_client",protocol="imap"} 2000`,
		`mailproxy_bytes_total{direction="to_client",protocol="pop3"} 7`,
		`mailproxy_auth_requests_total{protocol="imap",result="ok"} 1`,
		`mailproxy_auth_requests_total{protocol="imap",result="fail"} 1`,
		`mailproxy_auth_requests_total{protocol="smtp",result="other"} 1`,
		`mailproxy_auth_request_duration_seconds_count{protocol="imap"} 2`,
		`mailproxy_auth_request_duration_seconds_bucket{protocol="imap",le="0.025"} 1`,
		`mailproxy_session_duration_seconds_count{protocol="imap"} 1`,
		`mailproxy_backend_failures_total{protocol="smtp",stage="connect"} 1`,
		`mailproxy_tls_handshakes_total{protocol="imap",version="TLSv1.3"} 1`,
		`mailproxy_tls_handshakes_total{protocol="imap",version="failed"} 1`,
		`mailproxy_reloads_total{result="ok"} 1`,
		`mailproxy_reloads_total{result="failed"} 2`,
		`go_goroutines `,
		`process_start_time_seconds `,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("scrape lacks %q", want)
		}
	}
}

// wantLabels pins the label of every outcome.Outcome: these are the
// series dashboards and alerts query, so a change here is a breaking
// change for them.
var wantLabels = map[outcome.Outcome]string{
	outcome.None:               "error",
	outcome.ClientClosed:       "client_closed",
	outcome.BackendClosed:      "backend_closed",
	outcome.IdleTimeout:        "idle_timeout",
	outcome.ClosedBeforeLogin:  "no_login",
	outcome.EndedBeforeLogin:   "no_login",
	outcome.Timeout:            "timeout",
	outcome.BackendFailed:      "backend_failed",
	outcome.BadProxyHeader:     "bad_proxy_header",
	outcome.TLSFailed:          "tls_failed",
	outcome.ClientCertRefused:  "client_cert_refused",
	outcome.ClientError:        "client_error",
	outcome.ClientWriteFailed:  "client_error",
	outcome.BackendError:       "backend_error",
	outcome.BackendWriteFailed: "backend_error",
	outcome.Shutdown:           "shutdown",
	outcome.Panic:              "error",
	outcome.Limited:            "limited",
	outcome.Throttled:          "throttled",
}

// TestEveryOutcomeHasALabel: every Outcome constant is counted under its
// pinned label, which is one of Outcomes, and every label of Outcomes is
// some constant's. A constant added without a label, or a label renamed,
// fails here instead of moving sessions into "error" unnoticed.
func TestEveryOutcomeHasALabel(t *testing.T) {
	all := outcome.All()
	if len(all) != len(wantLabels) {
		t.Errorf("%d outcomes, %d pinned labels: pin the new outcome's label in wantLabels", len(all), len(wantLabels))
	}
	used := map[string]bool{}
	for _, o := range all {
		l := o.Label()
		want, ok := wantLabels[o]
		if !ok {
			t.Errorf("outcome %d (%q) has no pinned label", o, o.String())
		} else if l != want {
			t.Errorf("%q: label %q, want %q", o.String(), l, want)
		}
		if !slices.Contains(Outcomes, l) {
			t.Errorf("%q: label %q is not in Outcomes", o.String(), l)
		}
		used[l] = true

		m := New()
		m.SessionEnded("imap", o, 0, 0, 0)
		if v := testutil.ToFloat64(m.sessions.WithLabelValues("imap", l)); v != 1 {
			t.Errorf("%q: sessions_total{outcome=%q} = %v, want 1", o.String(), l, v)
		}
		if n := testutil.CollectAndCount(m.sessions); n != 1 {
			t.Errorf("%q: %d session series, want 1", o.String(), n)
		}
	}
	for _, l := range Outcomes {
		if !used[l] {
			t.Errorf("Outcomes lists %q, which no outcome has", l)
		}
	}
	// A value that is no constant counts as "error"; all 256 values
	// together make at most one series per label.
	for _, o := range []outcome.Outcome{outcome.Outcome(len(all)), 255} {
		if l := o.Label(); l != "error" {
			t.Errorf("Outcome(%d).Label() = %q, want error", o, l)
		}
	}
	m := New()
	for i := range 256 {
		m.SessionEnded("imap", outcome.Outcome(i), 0, 0, 0)
	}
	if n := testutil.CollectAndCount(m.sessions); n != len(Outcomes) {
		t.Errorf("every Outcome value: %d session series, want %d", n, len(Outcomes))
	}
}

// Arbitrary outcome, protocol, result, stage and version strings must not
// create more series than the fixed label sets allow.
func TestCardinalityBounded(t *testing.T) {
	m := New()
	for i := range 500 {
		junk := fmt.Sprintf("junk %d \xff\n\"", i)
		m.SessionStarted(junk)
		m.SessionEnded(junk, outcome.Outcome(200+i%56), 1, 1, time.Millisecond) // not an Outcome
		m.SessionEnded("imap", outcome.EndedBeforeLogin, 0, 0, 0)
		m.SessionEnded("imap", outcome.ClientError, 0, 0, 0)
		m.AuthRequest(junk, junk, time.Millisecond)
		m.BackendFailure(junk, junk)
		m.TLSHandshake(junk, junk)
		m.Refused(junk, junk)
		m.AcceptPaused(junk)
		m.StoreError(junk)
	}
	nProto := len(protocols) + 1 // and "other"
	maxSeries := map[string]int{
		"mailproxy_sessions_total":            nProto * len(Outcomes),
		"mailproxy_auth_requests_total":       nProto * (len(authResults) + 1),
		"mailproxy_backend_failures_total":    nProto * (len(stages) + 1),
		"mailproxy_tls_handshakes_total":      nProto * (len(tlsVersions) + 1),
		"mailproxy_sessions_active":           nProto,
		"mailproxy_bytes_total":               2 * nProto,
		"mailproxy_connections_refused_total": nProto * (len(RefusalReasons) + 1),
		"mailproxy_accept_pauses_total":       len(PauseReasons) + 1,
		"mailproxy_store_errors_total":        len(StoreUses) + 1,
	}
	total := 0
	for name, limit := range maxSeries {
		n := testutil.CollectAndCount(m.Registry(), name)
		total += n
		if n > limit {
			t.Errorf("%s has %d series, limit %d", name, n, limit)
		}
	}
	if got := testutil.CollectAndCount(m.sessions); got != 3 {
		t.Errorf("sessions_total: %d series, want 3 (other/error, imap/no_login, imap/client_error)", got)
	}
	if v := testutil.ToFloat64(m.sessions.WithLabelValues("other", "error")); v != 500 {
		t.Errorf("other/error = %v, want 500", v)
	}
	if out := scrape(t, m); strings.Contains(out, "junk") {
		t.Error("junk reached the exposition")
	}
}

func TestNilMetricsIsNoop(t *testing.T) {
	var m *Metrics
	m.SessionStarted("imap")
	m.SessionEnded("imap", outcome.ClientClosed, 1, 1, time.Second)
	m.AuthRequest("imap", "ok", time.Second)
	m.BackendFailure("imap", "login")
	m.TLSHandshake("imap", "TLSv1.2")
	m.Reload(true)
}

func TestNegativeValuesDoNotPanic(t *testing.T) {
	m := New()
	m.SessionEnded("smtp", outcome.ClientClosed, -5, -1, -time.Second)
	if v := testutil.ToFloat64(m.bytes.WithLabelValues("smtp", "to_backend")); v != 0 {
		t.Errorf("bytes = %v", v)
	}
}

// TestBuildInfo: mailproxy_build_info is 1 with the version and Go's, one
// series whatever the number of calls.
func TestBuildInfo(t *testing.T) {
	m := New()
	m.SetBuildInfo("0.9")
	m.SetBuildInfo("1.2.3")
	want := "# HELP mailproxy_build_info Always 1: the running mailproxy's version and the Go version it was built with.\n" +
		"# TYPE mailproxy_build_info gauge\n" +
		"mailproxy_build_info{goversion=\"" + runtime.Version() + "\",version=\"1.2.3\"} 1\n"
	if err := testutil.CollectAndCompare(m.buildInfo, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
}

// TestUpstreamMetrics: the upstream events become their series, with
// labels from fixed sets (the endpoint from the configuration).
func TestUpstreamMetrics(t *testing.T) {
	m := New()
	m.AuthEndpoint("https://auth1.example/auth", "error", false)
	m.AuthEndpoint("https://auth2.example/auth", "ok", true)
	m.AuthEndpoint("https://auth2.example/auth", "bogus", true)
	m.AuthCache("imap", true)
	m.AuthCache("imap", false)
	m.BackendTLS("pop3", "TLSv1.3")
	m.BackendTLS("pop3", "failed")
	m.BackendFailure("imap", "tls")
	out := scrape(t, m)
	for _, want := range []string{
		`mailproxy_auth_endpoint_requests_total{endpoint="https://auth1.example/auth",result="error"} 1`,
		`mailproxy_auth_endpoint_requests_total{endpoint="https://auth2.example/auth",result="ok"} 1`,
		`mailproxy_auth_endpoint_requests_total{endpoint="https://auth2.example/auth",result="other"} 1`,
		`mailproxy_auth_endpoint_healthy{endpoint="https://auth1.example/auth"} 0`,
		`mailproxy_auth_endpoint_healthy{endpoint="https://auth2.example/auth"} 1`,
		`mailproxy_auth_cache_lookups_total{protocol="imap",result="hit"} 1`,
		`mailproxy_auth_cache_lookups_total{protocol="imap",result="miss"} 1`,
		`mailproxy_backend_tls_handshakes_total{protocol="pop3",version="TLSv1.3"} 1`,
		`mailproxy_backend_tls_handshakes_total{protocol="pop3",version="failed"} 1`,
		`mailproxy_backend_failures_total{protocol="imap",stage="tls"} 1`,
	} {
		if !strings.Contains(out, want+"\n") {
			t.Errorf("no %s", want)
		}
	}
}

// TestRuntimeMetrics checks the runtime/metrics the Go collector exports
// for the benchmark's per-session budget: present under their Prometheus
// names, and counting what this process does between two scrapes.
func TestRuntimeMetrics(t *testing.T) {
	m := New()
	names := []string{
		"go_sched_goroutines_created_goroutines_total",
		"go_gc_heap_allocs_objects_total",
		"go_gc_heap_allocs_bytes_total",
		"go_gc_cycles_total_gc_cycles_total",
	}
	read := func() map[string]float64 {
		out := map[string]float64{}
		for _, line := range strings.Split(scrape(t, m), "\n") {
			f := strings.Fields(line)
			if len(f) == 2 && slices.Contains(names, f[0]) {
				var v float64
				if _, err := fmt.Sscan(f[1], &v); err != nil {
					t.Fatalf("%q: %v", line, err)
				}
				out[f[0]] = v
			}
		}
		return out
	}
	before := read()
	var sink [][]byte
	done := make(chan struct{})
	for range 100 {
		go func() { done <- struct{}{} }()
		<-done
		sink = append(sink, make([]byte, 4096))
	}
	runtime.GC()
	after := read()
	for _, n := range names {
		if _, ok := before[n]; !ok {
			t.Errorf("%s not exported", n)
		}
	}
	for n, atLeast := range map[string]float64{
		"go_sched_goroutines_created_goroutines_total": 100,
		"go_gc_heap_allocs_objects_total":              100,
		"go_gc_heap_allocs_bytes_total":                100 * 4096,
		"go_gc_cycles_total_gc_cycles_total":           1,
	} {
		if d := after[n] - before[n]; d < atLeast {
			t.Errorf("%s grew by %v, want at least %v", n, d, atLeast)
		}
	}
	runtime.KeepAlive(sink)
}
