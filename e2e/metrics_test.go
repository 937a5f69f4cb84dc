package e2e

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"mailproxy/internal/mailtest"
)

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestMetricsEndpoint: with metrics_listen set, /readyz answers once the
// listeners are bound, and /metrics counts a session, its auth request
// and the bytes relayed, by protocol and outcome.
func TestMetricsEndpoint(t *testing.T) {
	be, err := mailtest.StartIMAPBackend("127.0.0.1:0", map[string]string{"alice": "secret"}, true)
	if err != nil {
		t.Fatal(err)
	}
	defer be.Close()
	listen, metricsAddr := freePort(t), freePort(t)
	startBinary(t, "metrics_listen: "+metricsAddr+"\n"+imapConfig(listen, authOK(t, be.Addr())))
	if code, body := get(t, "http://"+metricsAddr+"/readyz"); code != 200 {
		t.Fatalf("/readyz: %d %q", code, body)
	}
	if code, _ := get(t, "http://"+metricsAddr+"/healthz"); code != 200 {
		t.Fatalf("/healthz: %d", code)
	}
	c, r := login(t, listen)
	io.WriteString(c, "z LOGOUT\r\n")
	for !strings.HasPrefix(readLine(t, c, r), "z ") {
	}
	// The backend closes after LOGOUT: the proxy then closes the client.
	// Waiting for that keeps the client's own close from racing it.
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.Copy(io.Discard, r); err != nil {
		t.Fatalf("the proxy did not close after the backend: %v", err)
	}
	c.Close()
	time.Sleep(300 * time.Millisecond)
	_, body := get(t, "http://"+metricsAddr+"/metrics")
	for _, want := range []string{
		`mailproxy_sessions_total{outcome="backend_closed",protocol="imap"} 1`,
		`mailproxy_auth_requests_total{protocol="imap",result="ok"} 1`,
		`mailproxy_sessions_active{protocol="imap"} 0`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if t.Failed() {
		t.Logf("/metrics:\n%s", body)
	}
}
