package metrics

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// The login_throttle metrics (proxy.ThrottleObserver), registered with
// the first event: a configuration without login_throttle has none.
type throttleMetrics struct {
	once      sync.Once
	throttled *prometheus.CounterVec // protocol, rule
	healthy   prometheus.Gauge
}

// ThrottleRules are the rule label of mailproxy_login_throttled_total.
var ThrottleRules = []string{"ip", "user", "user_ip"}

// thr registers the login_throttle metrics on first use.
func (m *Metrics) thr() *throttleMetrics {
	t := &m.throttle
	t.once.Do(func() {
		t.throttled = prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mailproxy_login_throttled_total",
			Help: "Login attempts login_throttle refused without asking the auth service, by rule (ip, user, user_ip).",
		}, []string{"protocol", "rule"})
		t.healthy = prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "mailproxy_login_throttle_store_healthy",
			Help: "1 while the last call to login_throttle's store succeeded, 0 after a failure.",
		})
		m.reg.MustRegister(t.throttled, t.healthy)
	})
	return t
}

// LoginThrottled counts a login attempt login_throttle refused.
func (m *Metrics) LoginThrottled(protocol, rule string) {
	if m == nil {
		return
	}
	m.thr().throttled.WithLabelValues(Protocol(protocol), oneOf(rule, ThrottleRules)).Inc()
}

// ThrottleStore records whether the last call to login_throttle's store
// succeeded (its failures are counted by StoreError).
func (m *Metrics) ThrottleStore(ok bool) {
	if m == nil {
		return
	}
	v := 0.0
	if ok {
		v = 1
	}
	m.thr().healthy.Set(v)
}
