// Package metrics turns the proxy's Observer events into Prometheus
// metrics and serves them, with /healthz and /readyz, on a small HTTP
// listener (the top-level metrics_listen key).
//
// *Metrics implements proxy.Observer. The proxy does not import this
// package; cmd/mailproxy creates one with New, hands it to the proxy and
// calls Serve. Every label value is normalised to a small fixed set (see
// labels.go), so no client, backend or error text can grow the number of
// series. A session's outcome arrives typed (internal/outcome) and is
// counted under its Label: it is never parsed from text.
package metrics

import (
	"regexp"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"mailproxy/internal/outcome"
)

// Metrics holds one private registry with mailproxy's metrics and the Go
// and process collectors. All methods are safe for concurrent use, and
// every Observer method is a no-op on a nil *Metrics.
type Metrics struct {
	reg *prometheus.Registry

	sessions     *prometheus.CounterVec   // protocol, outcome
	active       *prometheus.GaugeVec     // protocol
	sessionDur   *prometheus.HistogramVec // protocol
	authRequests *prometheus.CounterVec   // protocol, result
	authDur      *prometheus.HistogramVec // protocol
	backendFails *prometheus.CounterVec   // protocol, stage
	bytes        *prometheus.CounterVec   // protocol, direction
	tlsHands     *prometheus.CounterVec   // protocol, version
	reloads      *prometheus.CounterVec   // result
	buildInfo    *prometheus.GaugeVec     // version, goversion
	upstream     upstreamMetrics          // upstream.go
	refused      *prometheus.CounterVec   // protocol, reason
	pauses       *prometheus.CounterVec   // reason
	storeErrors  *prometheus.CounterVec   // use
	throttle     throttleMetrics          // throttle.go

	ready atomic.Bool
}

// runtimeMetrics are the runtime/metrics the Go collector exports besides
// its defaults: what a session costs the runtime, read by `make bench`
// (e2e/bench) before and after a run. They come out as
// go_sched_goroutines_created_goroutines_total,
// go_gc_heap_allocs_objects_total, go_gc_heap_allocs_bytes_total and
// go_gc_cycles_total_gc_cycles_total.
var runtimeMetrics = regexp.MustCompile(`^/(sched/goroutines-created:goroutines|gc/heap/allocs:(objects|bytes)|gc/cycles/total:gc-cycles)$`)

// New returns a Metrics with every series registered; the known label
// combinations start at zero so dashboards see them before the first
// event. It is not ready (see SetReady).
func New() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.sessions = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "mailproxy_sessions_total",
		Help: "Client sessions ended, by protocol and normalised outcome.",
	}, []string{"protocol", "outcome"})
	m.active = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "mailproxy_sessions_active",
		Help: "Client sessions open now.",
	}, []string{"protocol"})
	m.sessionDur = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "mailproxy_session_duration_seconds",
		Help:    "Duration of client sessions, from accept to close.",
		Buckets: []float64{0.1, 1, 5, 30, 60, 300, 900, 3600, 4 * 3600, 24 * 3600},
	}, []string{"protocol"})
	m.authRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "mailproxy_auth_requests_total",
		Help: "auth_http round trips, by result (ok, fail, wait, error).",
	}, []string{"protocol", "result"})
	m.authDur = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "mailproxy_auth_request_duration_seconds",
		Help:    "Duration of auth_http round trips.",
		Buckets: []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60},
	}, []string{"protocol"})
	m.backendFails = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "mailproxy_backend_failures_total",
		Help: "Backend failures, by stage (connect, login).",
	}, []string{"protocol", "stage"})
	m.bytes = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "mailproxy_bytes_total",
		Help: "Bytes relayed after login, by direction (to_backend, to_client), counted when a session ends.",
	}, []string{"protocol", "direction"})
	m.tlsHands = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "mailproxy_tls_handshakes_total",
		Help: "Client TLS handshakes (implicit TLS and STARTTLS), by negotiated version or failed.",
	}, []string{"protocol", "version"})
	m.reloads = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "mailproxy_reloads_total",
		Help: "Configuration reloads, by result (ok, failed).",
	}, []string{"result"})

	m.buildInfo = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "mailproxy_build_info",
		Help: "Always 1: the running mailproxy's version and the Go version it was built with.",
	}, []string{"version", "goversion"})
	m.refused = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "mailproxy_connections_refused_total",
		Help: "Connections refused by a limit, by reason: max_connections and descriptors at connect, limit_conn at connect or login; limit_conn_dry_run counts those a dry run let through.",
	}, []string{"protocol", "reason"})
	m.pauses = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "mailproxy_accept_pauses_total",
		Help: "Times an accept loop paused, by reason: descriptors (the process's descriptor limit) or refusals (too many refusals being sent).",
	}, []string{"reason"})
	m.storeErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "mailproxy_store_errors_total",
		Help: "Calls to a shared store (Redis/Valkey) that failed or timed out, by use: limit_conn, login_throttle, ssl_session. Each was answered as if no store were configured (fail open) unless the configuration says otherwise.",
	}, []string{"use"})

	m.reg.MustRegister(
		collectors.NewGoCollector(collectors.WithGoCollectorRuntimeMetrics(collectors.GoRuntimeMetricsRule{Matcher: runtimeMetrics})),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.sessions, m.active, m.sessionDur, m.authRequests, m.authDur,
		m.backendFails, m.bytes, m.tlsHands, m.reloads, m.buildInfo, m.refused, m.pauses, m.storeErrors,
	)
	for _, p := range protocols {
		m.active.WithLabelValues(p)
		for _, d := range []string{"to_backend", "to_client"} {
			m.bytes.WithLabelValues(p, d)
		}
	}
	m.reloads.WithLabelValues("ok")
	m.reloads.WithLabelValues("failed")
	for _, r := range PauseReasons {
		m.pauses.WithLabelValues(r)
	}
	for _, u := range StoreUses {
		m.storeErrors.WithLabelValues(u)
	}
	return m
}

// SetBuildInfo sets mailproxy_build_info{version, goversion} to 1 for
// this version (as the program reports it) and the Go release the binary
// was built with; the series of an earlier call is removed.
func (m *Metrics) SetBuildInfo(version string) {
	m.buildInfo.Reset()
	m.buildInfo.WithLabelValues(version, runtime.Version()).Set(1)
}

// Registry returns the registry the metrics live in, e.g. for a caller
// that wants to add its own collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// SessionStarted counts an accepted connection as active.
func (m *Metrics) SessionStarted(protocol string) {
	if m == nil {
		return
	}
	m.active.WithLabelValues(Protocol(protocol)).Inc()
}

// SessionEnded counts the session under its outcome's label (o.Label,
// one of Outcomes), makes it inactive, adds its relayed bytes and records
// its duration. Negative byte counts and durations count as zero.
func (m *Metrics) SessionEnded(protocol string, o outcome.Outcome, toBackend, toClient int64, d time.Duration) {
	if m == nil {
		return
	}
	p := Protocol(protocol)
	m.sessions.WithLabelValues(p, o.Label()).Inc()
	m.active.WithLabelValues(p).Dec()
	if toBackend > 0 {
		m.bytes.WithLabelValues(p, "to_backend").Add(float64(toBackend))
	}
	if toClient > 0 {
		m.bytes.WithLabelValues(p, "to_client").Add(float64(toClient))
	}
	m.sessionDur.WithLabelValues(p).Observe(seconds(d))
}

// AuthRequest counts one auth_http round trip and records its duration.
func (m *Metrics) AuthRequest(protocol, result string, d time.Duration) {
	if m == nil {
		return
	}
	p := Protocol(protocol)
	m.authRequests.WithLabelValues(p, oneOf(result, authResults)).Inc()
	m.authDur.WithLabelValues(p).Observe(seconds(d))
}

// BackendFailure counts a backend that could not be reached ("connect")
// or refused the login dialogue ("login").
func (m *Metrics) BackendFailure(protocol, stage string) {
	if m == nil {
		return
	}
	m.backendFails.WithLabelValues(Protocol(protocol), oneOf(stage, stages)).Inc()
}

// TLSHandshake counts a client handshake by OpenSSL version name
// ("TLSv1.3") or "failed".
func (m *Metrics) TLSHandshake(protocol, version string) {
	if m == nil {
		return
	}
	m.tlsHands.WithLabelValues(Protocol(protocol), oneOf(version, tlsVersions)).Inc()
}

// Reload counts a configuration reload attempt as "ok" or "failed".
func (m *Metrics) Reload(ok bool) {
	if m == nil {
		return
	}
	r := "failed"
	if ok {
		r = "ok"
	}
	m.reloads.WithLabelValues(r).Inc()
}

// Refused counts a connection a limit refused (reason is one of
// RefusalReasons).
func (m *Metrics) Refused(protocol, reason string) {
	if m == nil {
		return
	}
	m.refused.WithLabelValues(Protocol(protocol), oneOf(reason, RefusalReasons)).Inc()
}

// AcceptPaused counts a pause of an accept loop (reason is one of
// PauseReasons).
func (m *Metrics) AcceptPaused(reason string) {
	if m == nil {
		return
	}
	m.pauses.WithLabelValues(oneOf(reason, PauseReasons)).Inc()
}

// StoreError counts a call to a shared store that failed (use is one of
// StoreUses).
func (m *Metrics) StoreError(use string) {
	if m == nil {
		return
	}
	m.storeErrors.WithLabelValues(oneOf(use, StoreUses)).Inc()
}

func seconds(d time.Duration) float64 {
	if d < 0 {
		return 0
	}
	return d.Seconds()
}
