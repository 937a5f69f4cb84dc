package bench

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The targets a figure is measured on, in the order of a round.
const (
	direct    = "direct"    // the backend itself
	nginx     = "nginx"     // nginx's mail module, proxy_buffer default (4k)
	nginx64k  = "nginx-64k" // the same with proxy_buffer 64k
	mailproxy = "mailproxy" // the product
)

// allTargets is the column order of the table.
var allTargets = []string{direct, nginx, nginx64k, mailproxy}

// sample is what one run of one target measured.
type sample struct {
	rep    report             // mailload's report
	ready  report             // idle: mailload's ready line
	cpu    time.Duration      // the proxy's CPU time (user + system) during the run
	proxy  bool               // cpu, rssKiB and fds were measured (not direct)
	rssKiB int64              // idle: growth of the proxy's RSS with the sessions held
	fds    int                // idle: growth of the proxy's descriptors
	extra  map[string]float64 // custom measurements
}

// metric is one line of a figure: a value per sample, and the targets
// mailproxy's median is checked against.
type metric struct {
	label  string
	digits int                            // decimals printed
	value  func(s sample) (float64, bool) // false: not measured by this sample
	checks []check
	only   string // the one target that can measure it (mailproxy's own /metrics); "": every proxy
}

// check compares mailproxy's median with ref's median times factor, or,
// when ref is "", with factor itself. A ratioOnly check has no target:
// only mailproxy's median over ref's is printed.
type check struct {
	ref       string
	atMost    bool // mailproxy ≤ …; else mailproxy ≥ …
	factor    float64
	ratioOnly bool
}

// ratioTo is the check that only prints mailproxy's ratio to ref.
func ratioTo(ref string) []check { return []check{{ref: ref, ratioOnly: true}} }

// String describes the target, e.g. "≥ 1.5× nginx" or "≤ 2", or for a
// ratio without a target "× nginx".
func (c check) String() string {
	if c.ratioOnly {
		return "× " + c.ref
	}
	op := "≥"
	if c.atMost {
		op = "≤"
	}
	if c.ref == "" {
		return op + " " + strconv.FormatFloat(c.factor, 'g', -1, 64)
	}
	return op + " " + strconv.FormatFloat(c.factor, 'g', -1, 64) + "× " + c.ref
}

// figure is one measurement: mailload runs on one service of each target,
// interleaved round by round, read as metrics.
type figure struct {
	id, title string
	service   string   // which listener of each target
	targets   []string // in round order
	args      []string // mailload flags besides -addr, -user, -pass
	idle      bool     // hold sessions and measure memory instead of a timed run
	sessions  int      // idle: sessions held
	metrics   []metric
	// more, when set, adds rows once every round is measured: those that
	// depend on what was measured (the system calls a budget figure
	// ranks).
	more func(samples map[string][]sample) []metric
	// custom, when set, measures the figure itself on t (budget.go) or on
	// instances of its own (attack.go: t is not used).
	custom func(b *bench, ctx context.Context, f figure, t *target) (*sample, string)
}

// field reads a report key, scaled.
func field(k string, scale float64) func(sample) (float64, bool) {
	return func(s sample) (float64, bool) { return s.rep.num(k) * scale, true }
}

// proxyOnly wraps a value that only a proxy has (CPU, memory).
func proxyOnly(f func(sample) (float64, bool)) func(sample) (float64, bool) {
	return func(s sample) (float64, bool) {
		if !s.proxy {
			return 0, false
		}
		return f(s)
	}
}

var protoNames = map[string]string{"imap": "IMAP", "pop3": "POP3", "smtp": "SMTP"}

// sessionShape describes one protocol's login session.
var sessionShape = map[string]string{
	"imap": "connect–LOGIN–NOOP–LOGOUT",
	"pop3": "connect–USER/PASS–NOOP–QUIT",
	"smtp": "connect–EHLO–AUTH PLAIN–NOOP–QUIT",
}

// sizeText writes a byte count as "16 MiB", "1 MB" or "4096 B".
func sizeText(n int) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1e6 && n%1e6 == 0:
		return fmt.Sprintf("%d MB", n/1e6)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d B", n)
}

// figures lists the figures o asks for, in the order they run.
func figures(o Options) []figure {
	dur := "-duration=" + o.Duration.String()
	sessionsPerS := metric{label: "sessions/s", value: field("ok_per_s", 1), checks: []check{{ref: nginx, factor: 1}}}
	var out []figure
	for _, p := range o.Protocols {
		name := protoNames[p]
		out = append(out, figure{
			id: p + "-logins", service: p, targets: []string{direct, nginx, mailproxy},
			title:   fmt.Sprintf("%s sessions/s, %d concurrent clients, %s", name, o.Concurrency, sessionShape[p]),
			args:    []string{"-proto=" + p, "-mode=logins", "-noop", "-concurrency=" + strconv.Itoa(o.Concurrency), dur},
			metrics: []metric{sessionsPerS},
		})
		out = append(out, figure{
			id: p + "-logins-keepalive", service: keepAliveService(p), targets: []string{nginx, mailproxy},
			title: fmt.Sprintf("%s sessions/s as %s-logins, mailproxy with auth_http_keepalive: %d (nginx has no equivalent: as in %s-logins)",
				name, p, keepAliveConns, p),
			args:    []string{"-proto=" + p, "-mode=logins", "-noop", "-concurrency=" + strconv.Itoa(o.Concurrency), dur},
			metrics: []metric{{label: sessionsPerS.label, value: sessionsPerS.value, checks: ratioTo(nginx)}},
		})
		paced := []string{"-proto=" + p, "-mode=logins", "-noop", "-rate=" + strconv.FormatFloat(o.Rate, 'f', -1, 64), "-concurrency=64", dur}
		pacedMetrics := func(p99, cpu []check) []metric {
			return []metric{
				{label: "p50 session latency (ms)", digits: 2, value: field("sess_p50", 1000)},
				{label: "p99 session latency (ms)", digits: 2, value: field("sess_p99", 1000), checks: p99},
				{label: "proxy CPU per 1,000 logins (ms)", value: proxyOnly(func(s sample) (float64, bool) {
					n := s.rep.num("logins")
					return s.cpu.Seconds() * 1000 / n * 1000, n > 0
				}), checks: cpu},
			}
		}
		out = append(out, figure{
			id: p + "-paced", service: p, targets: []string{direct, nginx, mailproxy},
			title: fmt.Sprintf("%s sessions paced at %g/s (open loop), %s", name, o.Rate, sessionShape[p]),
			args:  paced,
			metrics: pacedMetrics([]check{{ref: nginx, atMost: true, factor: 1}},
				[]check{{ref: nginx, atMost: true, factor: 1}}),
		})
		out = append(out, figure{
			id: p + "-paced-keepalive", service: keepAliveService(p), targets: []string{nginx, mailproxy},
			title: fmt.Sprintf("%s sessions paced as %s-paced, mailproxy with auth_http_keepalive: %d (nginx has no equivalent: as in %s-paced)",
				name, p, keepAliveConns, p),
			args:    paced,
			metrics: pacedMetrics(ratioTo(nginx), ratioTo(nginx)),
		})
		out = append(out, budgetFigure(o, p, paced))
		size, verb := o.FetchSize, map[string]string{"imap": "FETCHing", "pop3": "RETRieving"}[p]
		args := []string{"-proto=" + p, "-mode=fetch", "-concurrency=4", dur, "-expect-size=" + strconv.Itoa(size)}
		if p == "smtp" {
			size, verb = o.SMTPSize, "sending (DATA)"
			args = []string{"-proto=" + p, "-mode=fetch", "-concurrency=4", dur, "-size=" + strconv.Itoa(size)}
		}
		out = append(out, figure{
			id: p + "-transfer", service: p, targets: []string{direct, nginx, nginx64k, mailproxy},
			title: fmt.Sprintf("%s throughput, 4 streams %s a %s message (a login each)", name, verb, sizeText(size)),
			args:  args,
			metrics: []metric{
				{label: "throughput (MB/s)", value: field("body_mb_per_s", 1), checks: []check{{ref: direct, factor: 0.9}, {ref: nginx64k, factor: 2}}},
				{label: "proxy CPU per GiB relayed (s)", digits: 2, value: proxyOnly(func(s sample) (float64, bool) {
					n := s.rep.num("body_bytes")
					return s.cpu.Seconds() / (n / (1 << 30)), n > 0
				}), checks: []check{{ref: nginx, atMost: true, factor: 0.3}}},
			},
		})
		out = append(out, figure{
			id: p + "-idle", service: p, targets: []string{nginx, mailproxy}, idle: true, sessions: o.IdleSessions,
			title: fmt.Sprintf("%s idle spliced sessions, %d held", name, o.IdleSessions),
			args:  []string{"-proto=" + p, "-mode=idle", "-sessions=" + strconv.Itoa(o.IdleSessions), "-concurrency=32", "-duration=10m"},
			metrics: []metric{
				{label: "RSS per idle session (KiB)", digits: 1, value: proxyOnly(func(s sample) (float64, bool) {
					n := s.ready.num("held")
					return float64(s.rssKiB) / n, n > 0
				}), checks: []check{{ref: nginx, atMost: true, factor: 0.6}}},
				{label: "descriptors per idle session", digits: 2, value: proxyOnly(func(s sample) (float64, bool) {
					n := s.ready.num("held")
					return float64(s.fds) / n, n > 0
				}), checks: []check{{atMost: true, factor: 2}}},
				{label: "sessions held", value: func(s sample) (float64, bool) { return s.ready.num("held"), true },
					checks: []check{{factor: float64(o.IdleSessions)}}},
			},
		})
		if p == "imap" {
			out = append(out, figure{
				id: "imap-tls", service: "imaps", targets: []string{direct, nginx, mailproxy},
				title: fmt.Sprintf("IMAP implicit TLS, ECDSA P-256, %d concurrent clients, full handshake–LOGIN–LOGOUT", o.Concurrency),
				args:  []string{"-proto=imap", "-tls", "-mode=logins", "-concurrency=" + strconv.Itoa(o.Concurrency), dur},
				metrics: []metric{
					{label: "handshakes/s", value: field("ok_per_s", 1), checks: []check{{ref: nginx, factor: 1}}},
					{label: "proxy CPU per handshake (ms)", digits: 2, value: proxyOnly(func(s sample) (float64, bool) {
						n := s.rep.num("logins")
						return s.cpu.Seconds() * 1000 / n, n > 0
					})},
				},
			})
			out = append(out, upstreamFigures(o, dur)...)
		}
	}
	out = append(out, attackFigures(o)...)
	out = append(out, throttleFigure(o))
	if o.Figures == "" {
		return out
	}
	var picked []figure
	for _, f := range out {
		for _, want := range strings.Split(o.Figures, ",") {
			if want = strings.TrimSpace(want); want != "" && strings.HasPrefix(f.id, want) {
				picked = append(picked, f)
				break
			}
		}
	}
	return picked
}

// upstreamFigures are the IMAP figures of mailproxy's upstream layer:
// relay throughput over TLS on the client side only and on both sides
// (proxy_ssl on: the copy path, no splice), and logins against an auth
// service that costs slowAuthCost per answer, without and with
// auth_http_cache.
func upstreamFigures(o Options, dur string) []figure {
	tlsTransfer := []metric{
		{label: "throughput (MB/s)", value: field("body_mb_per_s", 1)},
		{label: "proxy CPU per GiB relayed (s)", digits: 2, value: proxyOnly(func(s sample) (float64, bool) {
			n := s.rep.num("body_bytes")
			return s.cpu.Seconds() / (n / (1 << 30)), n > 0
		})},
	}
	fetch := []string{"-proto=imap", "-tls", "-mode=fetch", "-concurrency=4", dur, "-expect-size=" + strconv.Itoa(o.FetchSize)}
	logins := []string{"-proto=imap", "-mode=logins", "-noop", "-concurrency=" + strconv.Itoa(o.Concurrency), dur}
	sessionsPerS := []metric{{label: "sessions/s", value: field("ok_per_s", 1)}}
	return []figure{
		{
			id: "imap-transfer-tls-client", service: "imaps", targets: []string{direct, nginx, mailproxy},
			title:   fmt.Sprintf("IMAP throughput, TLS on the client side only (backend plaintext; direct: the backend over TLS), 4 streams FETCHing %s", sizeText(o.FetchSize)),
			args:    fetch,
			metrics: tlsTransfer,
		},
		{
			id: "imap-transfer-tls-both", service: "imapsb", targets: []string{direct, mailproxy},
			title:   fmt.Sprintf("IMAP throughput, TLS on both sides (proxy_ssl on; nginx cannot), 4 streams FETCHing %s", sizeText(o.FetchSize)),
			args:    fetch,
			metrics: tlsTransfer,
		},
		{
			id: "imap-logins-slowauth", service: "imapslow", targets: []string{mailproxy},
			title:   fmt.Sprintf("IMAP sessions/s, an auth service costing %s per answer, no cache, %d concurrent clients", slowAuthCost, o.Concurrency),
			args:    logins,
			metrics: sessionsPerS,
		},
		{
			id: "imap-logins-cache", service: "imapcache", targets: []string{mailproxy},
			title:   fmt.Sprintf("IMAP sessions/s, the same auth service, auth_http_cache on (hot), %d concurrent clients", o.Concurrency),
			args:    logins,
			metrics: sessionsPerS,
		},
	}
}
