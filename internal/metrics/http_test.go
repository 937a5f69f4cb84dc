package metrics

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func get(t *testing.T, h http.Handler, method, path string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
	return rec.Code, rec.Body.String()
}

func TestHealthAndReady(t *testing.T) {
	m := New()
	h := m.Handler()
	if code, body := get(t, h, "GET", "/healthz"); code != 200 || strings.TrimSpace(body) != "ok" {
		t.Errorf("/healthz = %d %q", code, body)
	}
	if code, _ := get(t, h, "GET", "/readyz"); code != http.StatusServiceUnavailable {
		t.Errorf("/readyz before SetReady = %d, want 503", code)
	}
	m.SetReady(true)
	if code, body := get(t, h, "GET", "/readyz"); code != 200 || strings.TrimSpace(body) != "ready" {
		t.Errorf("/readyz after SetReady(true) = %d %q", code, body)
	}
	if code, _ := get(t, h, "HEAD", "/readyz"); code != 200 {
		t.Errorf("HEAD /readyz = %d", code)
	}
	m.SetReady(false)
	if code, _ := get(t, h, "GET", "/readyz"); code != http.StatusServiceUnavailable {
		t.Errorf("/readyz after SetReady(false) = %d, want 503", code)
	}
	if code, _ := get(t, h, "GET", "/healthz"); code != 200 {
		t.Errorf("/healthz while not ready = %d", code)
	}
	if code, _ := get(t, h, "GET", "/"); code != http.StatusNotFound {
		t.Errorf("/ = %d, want 404", code)
	}
	if code, _ := get(t, h, "POST", "/metrics"); code != http.StatusMethodNotAllowed {
		t.Errorf("POST /metrics = %d, want 405", code)
	}
}

func TestServe(t *testing.T) {
	m := New()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	stop := m.serveOn(ln)
	base := "http://" + ln.Addr().String()
	m.SessionStarted("imap")
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `mailproxy_sessions_active{protocol="imap"} 1`) {
		t.Fatalf("GET /metrics = %d\n%s", resp.StatusCode, body)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := stop(ctx); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Error("still serving after stop")
	}
}

func TestServeAddressInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if _, err := New().Serve(ln.Addr().String()); err == nil {
		t.Fatal("Serve on a bound address succeeded")
	}
	if _, err := New().Serve(""); err == nil {
		t.Fatal("Serve(\"\") succeeded")
	}
	stop, err := New().Serve("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := stop(context.Background()); err != nil {
		t.Fatal(err)
	}
}
