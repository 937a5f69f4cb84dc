package metrics

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// The upstream metrics (proxy.UpstreamObserver): auth endpoints of a
// list of auth_http URLs, the auth cache, TLS to backends. The endpoint
// label takes the auth_http URLs of the configuration (without their
// query string), never client input.
type upstreamMetrics struct {
	once         sync.Once
	endpointReqs *prometheus.CounterVec // endpoint, result
	endpointUp   *prometheus.GaugeVec   // endpoint
	cache        *prometheus.CounterVec // protocol, result
	backendTLS   *prometheus.CounterVec // protocol, version
}

var (
	endpointResults = []string{"ok", "error", "5xx"}
	cacheResults    = []string{"hit", "miss"}
)

// up registers the upstream metrics on first use.
func (m *Metrics) up() *upstreamMetrics {
	u := &m.upstream
	u.once.Do(func() {
		u.endpointReqs = prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mailproxy_auth_endpoint_requests_total",
			Help: "Requests to each auth_http URL of a list, by result (ok, error, 5xx).",
		}, []string{"endpoint", "result"})
		u.endpointUp = prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "mailproxy_auth_endpoint_healthy",
			Help: "1 while an auth_http URL of a list is asked, 0 while it is skipped after a failure.",
		}, []string{"endpoint"})
		u.cache = prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mailproxy_auth_cache_lookups_total",
			Help: "auth_http_cache lookups, by result (hit, miss).",
		}, []string{"protocol", "result"})
		u.backendTLS = prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mailproxy_backend_tls_handshakes_total",
			Help: "TLS handshakes with backends (proxy_ssl), by negotiated version or failed.",
		}, []string{"protocol", "version"})
		m.reg.MustRegister(u.endpointReqs, u.endpointUp, u.cache, u.backendTLS)
	})
	return u
}

// AuthEndpoint counts one request to an auth endpoint of a list and
// records whether it is healthy.
func (m *Metrics) AuthEndpoint(endpoint, result string, healthy bool) {
	if m == nil {
		return
	}
	u := m.up()
	u.endpointReqs.WithLabelValues(endpoint, oneOf(result, endpointResults)).Inc()
	v := 0.0
	if healthy {
		v = 1
	}
	u.endpointUp.WithLabelValues(endpoint).Set(v)
}

// AuthCache counts an auth_http_cache lookup.
func (m *Metrics) AuthCache(protocol string, hit bool) {
	if m == nil {
		return
	}
	r := "miss"
	if hit {
		r = "hit"
	}
	m.up().cache.WithLabelValues(Protocol(protocol), oneOf(r, cacheResults)).Inc()
}

// BackendTLS counts a TLS handshake with a backend.
func (m *Metrics) BackendTLS(protocol, version string) {
	if m == nil {
		return
	}
	m.up().backendTLS.WithLabelValues(Protocol(protocol), oneOf(version, tlsVersions)).Inc()
}
