package metrics

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// SetReady sets what /readyz answers: 200 after SetReady(true) (every
// listener bound), 503 before it and after SetReady(false) (e.g. at the
// start of a shutdown).
func (m *Metrics) SetReady(ready bool) { m.ready.Store(ready) }

// Ready reports the value last given to SetReady (false initially).
func (m *Metrics) Ready() bool { return m.ready.Load() }

// Handler serves, for GET and HEAD:
//
//	/metrics  the Prometheus text exposition of the registry
//	/healthz  200 "ok" as long as the process serves HTTP at all
//	/readyz   200 "ready" once SetReady(true), else 503 "not ready"
//
// Other paths get 404, other methods 405.
func (m *Metrics) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		Registry:            m.reg,
		MaxRequestsInFlight: 4,
		Timeout:             10 * time.Second,
	}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		text(w, http.StatusOK, "ok\n")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if m.Ready() {
			text(w, http.StatusOK, "ready\n")
			return
		}
		text(w, http.StatusServiceUnavailable, "not ready\n")
	})
	return mux
}

func text(w http.ResponseWriter, code int, body string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	w.Write([]byte(body))
}

// Serve binds addr ("host:port", e.g. "127.0.0.1:9100") at once, so an
// address in use is reported here, and serves Handler on it in the
// background with bounded header, read, write and idle timeouts.
//
// stop shuts the listener down gracefully within ctx (then closes what is
// left) and returns the first error: the shutdown's, or the serving loop's
// if it had failed. Call it once.
func (m *Metrics) Serve(addr string) (stop func(ctx context.Context) error, err error) {
	if addr == "" {
		return nil, errors.New("metrics: empty listen address")
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	return m.serveOn(ln), nil
}

// serveOn serves Handler on ln; see Serve.
func (m *Metrics) serveOn(ln net.Listener) func(ctx context.Context) error {
	srv := &http.Server{
		Handler:           m.Handler(),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    16 << 10,
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	return func(ctx context.Context) error {
		err := srv.Shutdown(ctx)
		if err != nil {
			srv.Close()
		}
		if serr := <-done; !errors.Is(serr, http.ErrServerClosed) && err == nil {
			err = serr
		}
		return err
	}
}
