package proxy

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"syscall"
	"time"

	"mailproxy/config"
)

// Descriptor accounting of the gate. A session holds its client
// connection and, until its backend login is done, may open one more at
// a time (the auth request, a DNS lookup, the backend): three are
// reserved for it from accept, two once it is spliced. nginx counts
// every connection against worker_connections; mailproxy counts clients
// against max_connections and keeps their other descriptors in reserve,
// so that a session accepted is never refused its backend for want of a
// descriptor.
const (
	sessionFDs = 3 // client, auth request, backend: from accept to the backend login
	splicedFDs = 2 // client and backend
	// fixedFDs are kept for the process itself: standard streams, log
	// file, metrics listener and its clients, epoll, the pipes of
	// splices under way, a reload's files.
	fixedFDs = 64
	// maxRefusals bounds the refusals being sent (each holds its client
	// descriptor until its reply is written, after a TLS handshake on
	// ssl listeners): beyond it, accepting pauses.
	maxRefusals = 256
	// refusalTimeout bounds one refusal: PROXY header, TLS handshake and
	// reply (`timeout` when shorter).
	refusalTimeout = 5 * time.Second
	// logEvery is the least time between two log lines about refused
	// connections or accept pauses; the ones in between are counted.
	logEvery = 10 * time.Second
)

// admission is the gate's decision for a connection just accepted.
type admission uint8

const (
	admitServe  admission = iota // serve it as a session
	admitRefuse                  // send the protocol's try-later reply and close
	admitDrop                    // no descriptor even for a reply: close at once
)

// gate admits connections for the whole process: at most max_connections
// sessions, within the descriptors the process may open (RLIMIT_NOFILE),
// with those of the accepted sessions reserved. It is shared by every
// accept loop and survives reloads.
type gate struct {
	mu        sync.Mutex
	max       int // max_connections; 0: no cap but descriptors
	limit     int // the process's descriptor limit
	budget    int // descriptors sessions and refusals may hold
	refusals  int // refusals allowed in flight
	sessions  int // sessions served now
	units     int // descriptors reserved by sessions
	refusing  int // refusals in flight, a descriptor each
	waiters   int
	wake      chan struct{} // closed when descriptors are released, if someone waits
	logs      map[string]*rateLog
	fdLimitFn func() int // the descriptor limit; tests replace it
}

// rateLog counts events of one kind between two log lines.
type rateLog struct {
	last    time.Time
	skipped int
}

func newGate() *gate {
	return &gate{wake: make(chan struct{}), logs: map[string]*rateLog{}, fdLimitFn: fdLimit}
}

// fdLimit is the soft RLIMIT_NOFILE (Go raises it to the hard limit at
// start); a large number when it cannot be read.
func fdLimit() int {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil || rl.Cur > 1<<30 {
		return 1 << 30
	}
	return int(rl.Cur)
}

// configure applies a configuration: max_connections and the descriptors
// its listeners and kept auth connections take. Sessions already served
// stay counted.
func (g *gate) configure(cfg *config.Config, log *slog.Logger) {
	reserve := fixedFDs
	for _, s := range cfg.Servers {
		reserve += len(s.Listen) + s.AuthHTTPKeepalive
	}
	g.mu.Lock()
	g.max = cfg.MaxConnections
	g.limit = g.fdLimitFn()
	g.budget = max(g.limit-reserve, sessionFDs+1)
	g.refusals = min(max(g.budget/16, 1), maxRefusals)
	byFDs := g.sessionRoom()
	g.mu.Unlock()
	if log == nil {
		return
	}
	level := slog.LevelDebug
	if cfg.MaxConnections > 0 {
		level = slog.LevelInfo
	}
	log.Log(context.Background(), level, "connection limits", "max_connections", cfg.MaxConnections, "descriptor_limit", g.limit, "sessions_by_descriptors", byFDs)
	if cfg.MaxConnections > byFDs {
		log.Warn("max_connections is more than the descriptor limit allows: beyond the sessions it allows, clients get the try-later reply",
			"max_connections", cfg.MaxConnections, "descriptor_limit", g.limit, "sessions_by_descriptors", byFDs)
	}
}

// sessionRoom is how many sessions the descriptors allow before login,
// refusals kept aside. g.mu must be held.
func (g *gate) sessionRoom() int {
	return max(g.budget-g.refusals, 0) / sessionFDs
}

// admit decides what becomes of a connection just accepted, and reserves
// its descriptors. reason names why it is not served: "max_connections"
// or "descriptors".
func (g *gate) admit() (admission, string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	fdsFree := g.units+sessionFDs <= g.budget-g.refusals
	if fdsFree && (g.max == 0 || g.sessions < g.max) {
		g.sessions++
		g.units += sessionFDs
		return admitServe, ""
	}
	reason := "descriptors"
	if fdsFree {
		reason = "max_connections"
	}
	if g.refusing < g.refusals {
		g.refusing++
		return admitRefuse, reason
	}
	return admitDrop, "descriptors"
}

// spliced gives back the descriptor of the auth request a session no
// longer needs once its backend login is done.
func (g *gate) spliced() { g.release(sessionFDs-splicedFDs, false) }

// ended gives back what a served session still holds: units descriptors.
func (g *gate) ended(units int) { g.release(units, true) }

// refused ends a refusal.
func (g *gate) refused() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.refusing--
	g.wakeWaiters()
}

func (g *gate) release(units int, session bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.units -= units
	if session {
		g.sessions--
	}
	g.wakeWaiters()
}

// wakeWaiters ends the waits under way. g.mu must be held.
func (g *gate) wakeWaiters() {
	if g.waiters > 0 {
		close(g.wake)
		g.wake = make(chan struct{})
		g.waiters = 0
	}
}

// full reports whether a connection accepted now could be neither served
// nor refused: then the accept loop waits instead of taking it.
func (g *gate) full() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.refusing >= g.refusals && (g.units+sessionFDs > g.budget-g.refusals || g.max > 0 && g.sessions >= g.max)
}

// wait returns when descriptors are released, or after d.
func (g *gate) wait(d time.Duration) {
	g.mu.Lock()
	ch := g.wake
	g.waiters++
	g.mu.Unlock()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ch:
	case <-t.C:
	}
}

// every reports whether a line about kind may be logged now, and how many
// events of that kind were not logged since the last line.
func (g *gate) every(kind string) (bool, int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	r := g.logs[kind]
	if r == nil {
		r = &rateLog{}
		g.logs[kind] = r
	}
	now := time.Now()
	if now.Sub(r.last) < logEvery {
		r.skipped++
		return false, 0
	}
	skipped := r.skipped
	r.last, r.skipped = now, 0
	return true, skipped
}

// counts returns the sessions served and the descriptors reserved.
func (g *gate) counts() (sessions, units int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.sessions, g.units
}

// outOfDescriptors reports an accept error of a process (EMFILE) or a
// system (ENFILE) out of descriptors.
func outOfDescriptors(err error) bool {
	return errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE)
}
