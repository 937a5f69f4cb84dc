package metrics

import "github.com/prometheus/client_golang/prometheus"

// tlsStoreOps are the calls to the TLS session store.
var tlsStoreOps = []string{"get", "put"}

func (m *Metrics) registerTLSSessions() {
	m.tlsStoreErrs = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "mailproxy_tls_session_store_errors_total",
		Help: "Failed calls to the TLS session store (ssl_session_store), by operation (get, put); each handshake concerned went on as a full one. Calls skipped for a second after a failure are not counted.",
	}, []string{"op"})
	m.reg.MustRegister(m.tlsStoreErrs)
	for _, op := range tlsStoreOps {
		m.tlsStoreErrs.WithLabelValues(op)
	}
}

// TLSSessionStoreError counts a failed call to the TLS session store.
func (m *Metrics) TLSSessionStoreError(op string) {
	if m == nil {
		return
	}
	m.tlsStoreErrs.WithLabelValues(oneOf(op, tlsStoreOps)).Inc()
}
