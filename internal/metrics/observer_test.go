package metrics_test

import (
	"mailproxy/internal/metrics"
	"mailproxy/proxy"
)

// *Metrics must stay a proxy.Observer; the check lives in a test so that
// package metrics never imports proxy.
var _ proxy.Observer = (*metrics.Metrics)(nil)

var _ proxy.UpstreamObserver = (*metrics.Metrics)(nil)

var _ proxy.ThrottleObserver = (*metrics.Metrics)(nil)
