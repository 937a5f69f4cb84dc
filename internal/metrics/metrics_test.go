package metrics

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
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
	m.SessionEnded("imap", "client closed", 100, 2000, 3*time.Second)
	m.SessionEnded("pop3", "backend error: read tcp 10.0.0.5:110: connection reset by peer", 5, 7, time.Second)
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
	if strings.Contains(out, "10.0.0.5") || strings.Contains(out, "reset") {
		t.Error("free text leaked into a label")
	}
}

func TestOutcomeMapping(t *testing.T) {
	cases := map[string]string{
		"client closed":                          "client_closed",
		"backend closed":                         "backend_closed",
		"proxy_timeout":                          "idle_timeout",
		"closed before login":                    "no_login",
		"ended before login: too many errors":    "no_login",
		"client timed out":                       "timeout",
		"backend login failed":                   "backend_failed",
		"bad PROXY header":                       "bad_proxy_header",
		"TLS handshake failed":                   "tls_failed",
		"client error: read: connection reset":   "client_error",
		"client write failed":                    "client_error",
		"backend error: write: broken pipe":      "backend_error",
		"backend write failed":                   "backend_error",
		"closed by server":                       "shutdown",
		"panic":                                  "error",
		"":                                       "error",
		"Client Closed":                          "error",
		"something new the proxy will say later": "error",
	}
	for in, want := range cases {
		if got := Outcome(in); got != want {
			t.Errorf("Outcome(%q) = %q, want %q", in, got, want)
		}
	}
	for _, l := range cases {
		found := false
		for _, o := range Outcomes {
			found = found || o == l
		}
		if !found {
			t.Errorf("%q missing from Outcomes", l)
		}
	}
}

// Arbitrary outcome, protocol, result, stage and version strings must not
// create more series than the fixed label sets allow.
func TestCardinalityBounded(t *testing.T) {
	m := New()
	for i := range 500 {
		junk := fmt.Sprintf("junk %d \xff\n\"", i)
		m.SessionStarted(junk)
		m.SessionEnded(junk, junk, 1, 1, time.Millisecond)
		m.SessionEnded("imap", "ended before login: "+junk, 0, 0, 0)
		m.SessionEnded("imap", "client error: "+junk, 0, 0, 0)
		m.AuthRequest(junk, junk, time.Millisecond)
		m.BackendFailure(junk, junk)
		m.TLSHandshake(junk, junk)
	}
	maxSeries := map[string]int{
		"mailproxy_sessions_total":         4 * len(Outcomes),
		"mailproxy_auth_requests_total":    4 * (len(authResults) + 1),
		"mailproxy_backend_failures_total": 4 * (len(stages) + 1),
		"mailproxy_tls_handshakes_total":   4 * (len(tlsVersions) + 1),
		"mailproxy_sessions_active":        4,
		"mailproxy_bytes_total":            8,
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
	m.SessionEnded("imap", "client closed", 1, 1, time.Second)
	m.AuthRequest("imap", "ok", time.Second)
	m.BackendFailure("imap", "login")
	m.TLSHandshake("imap", "TLSv1.2")
	m.Reload(true)
}

func TestNegativeValuesDoNotPanic(t *testing.T) {
	m := New()
	m.SessionEnded("smtp", "client closed", -5, -1, -time.Second)
	if v := testutil.ToFloat64(m.bytes.WithLabelValues("smtp", "to_backend")); v != 0 {
		t.Errorf("bytes = %v", v)
	}
}
