package proxy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"mailproxy/config"
	"mailproxy/internal/evloop"
	"mailproxy/internal/limit"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Server runs every listener of a configuration, and of the next one
// after a Reload.
type Server struct {
	logp   atomic.Pointer[slog.Logger] // the server's own messages
	obs    atomic.Pointer[Observer]    // nil: nothing is observed
	connID atomic.Uint64               // numbers sessions (logging.Conn)

	rmu      sync.Mutex // serialises Listen, Reload and the listener lists
	gen      *generation
	sites    []*site
	lns      []*listener          // current listeners, configuration order
	accs     map[string]*acceptor // bound sockets by listen address
	logsFunc LogsFunc             // nil: every message goes to logp
	// inherited returns a socket passed by systemd for an address, or nil.
	inherited func(address string) net.Listener

	base   context.Context
	cancel context.CancelFunc

	mu     sync.Mutex
	conns  map[*clientConn]struct{}
	closed bool
	wg     sync.WaitGroup // sessions (not goroutines: parked ones have none)
	accept sync.WaitGroup // accept loops

	loops []*evloop.Loop // nil: sessions run on goroutines (loops.go)

	pmu       sync.Mutex
	parker    *poller // created with the first plain session to splice
	parkerOff bool    // set when creating it failed, or once the server is closed

	gate  *gate                           // max_connections and descriptors, for the process
	store limit.Store                     // limit_conn counts; kept across reloads
	zones map[string]config.LimitConnZone // the running configuration's (guarded by rmu)

	throttle throttleState // login_throttle (throttle.go)
}

// listener is one bound listen entry and the site it serves, for one
// configuration generation. It is immutable: a reload that keeps the
// socket makes a new listener for it, and connections keep the one they
// were accepted with.
type listener struct {
	ln   *net.TCPListener
	addr string // ln's address, as every session's log lines name it
	site *site
	cfg  config.Listen
}

// acceptor owns one bound socket across reloads and hands each accepted
// connection to the socket's current listener.
type acceptor struct {
	ln      *net.TCPListener
	loopLn  *evloop.Listener // set when the server's event loops accept from it
	closed  func()           // called once loopLn is closed
	cur     atomic.Pointer[listener]
	serving bool // an accept loop runs (guarded by Server.rmu)
}

// New builds the runtime state of cfg: auth clients (host names
// resolved) and protocol front ends, with the TLS settings config.Parse
// built (New reads no file). Nothing is bound yet.
func New(cfg *config.Config, log *slog.Logger) (*Server, error) {
	sites, err := buildSites(cfg, nil)
	if err != nil {
		return nil, err
	}
	store, err := newLimitStore(cfg)
	if err != nil {
		return nil, err
	}
	s := &Server{sites: sites, accs: map[string]*acceptor{}, conns: map[*clientConn]struct{}{},
		gate: newGate(), store: store, zones: zoneMap(cfg)}
	thr, err := s.prepareThrottle(cfg)
	if err != nil {
		if sh, ok := store.(*limit.Shared); ok {
			sh.Close()
		}
		return nil, err
	}
	s.installThrottle(thr)
	s.gen = &generation{cfg: cfg}
	s.gen.attach(sites, Logs{})
	s.logp.Store(log)
	s.gate.configure(cfg, nil)
	s.startLoops(cfg.EventLoops)
	s.base, s.cancel = context.WithCancel(context.Background())
	s.watch(sites)
	s.watchSessions(sites)
	return s, nil
}

// SetLogger replaces the logger New was given, for the server's own
// messages and for the sessions of servers SetLogs gave no logger. Call
// it before Listen.
func (s *Server) SetLogger(log *slog.Logger) { s.logp.Store(log) }

// LogLimits logs the connection limits cfg gives this process (and a
// warning when max_connections is more than its descriptors allow).
func (s *Server) LogLimits(cfg *config.Config) { s.gate.configure(cfg, s.Logger()) }

// buildSites builds the runtime state of every server of cfg. old are the
// limit_conn zones of the running configuration (nil at start): a zone
// may not change its key across a reload, as in freenginx.
func buildSites(cfg *config.Config, old map[string]config.LimitConnZone) ([]*site, error) {
	zones := zoneMap(cfg)
	for _, z := range cfg.LimitConnZones {
		if o, ok := old[z.Name]; ok && o.Key != z.Key {
			return nil, fmt.Errorf("%s:%d: limit_conn_zone %q uses the %q key while previously it used the %q key", cfg.File, z.Line, z.Name, z.Key, o.Key)
		}
	}
	var sites []*site
	for _, sc := range cfg.Servers {
		st, err := newSite(sc, zones)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", cfg.File, sc.Line, err)
		}
		sites = append(sites, st)
	}
	return sites, nil
}

// zoneMap returns cfg's limit_conn zones by name.
func zoneMap(cfg *config.Config) map[string]config.LimitConnZone {
	m := map[string]config.LimitConnZone{}
	for _, z := range cfg.LimitConnZones {
		m[z.Name] = z
	}
	return m
}

// Listen binds every listen entry. On failure nothing stays bound.
func (s *Server) Listen() error {
	s.rmu.Lock()
	defer s.rmu.Unlock()
	lns, accs, err := s.bind(s.sites, nil)
	if err != nil {
		return err
	}
	s.lns, s.accs = lns, accs
	return nil
}

// Addrs returns the bound addresses, in configuration order.
func (s *Server) Addrs() []net.Addr {
	s.rmu.Lock()
	defer s.rmu.Unlock()
	var out []net.Addr
	for _, l := range s.lns {
		out = append(out, l.ln.Addr())
	}
	return out
}

// Serve accepts on every bound listener (and on those a Reload binds)
// until Shutdown or Close, then returns nil.
func (s *Server) Serve() error {
	s.rmu.Lock()
	s.startAccepting()
	s.rmu.Unlock()
	s.accept.Wait()
	return nil
}

// startAccepting starts an accept loop for every acceptor that has none.
// s.rmu must be held.
func (s *Server) startAccepting() {
	for _, l := range s.lns {
		a := s.accs[acceptorKey(l)]
		if a.serving {
			continue
		}
		a.serving = true
		s.Logger().Info("listening", "address", l.ln.Addr().String(), "protocol", l.site.proto.Name(), "ssl", l.cfg.SSL, "proxy_protocol", l.cfg.ProxyProtocol)
		if s.acceptOnLoops(a) {
			continue
		}
		s.accept.Add(1)
		go s.acceptLoop(a)
	}
}

// acceptLoop accepts connections on a's socket until it is closed,
// backing off on temporary errors. Each connection is served with the
// listener current at accept time, if the gate admits it; otherwise it
// gets its protocol's try-later reply. The loop pauses, without spinning,
// while the process is out of descriptors or cannot even refuse more.
func (s *Server) acceptLoop(a *acceptor) {
	defer s.accept.Done()
	var backoff time.Duration
	for {
		if s.gate.full() {
			if s.stopping() {
				return
			}
			s.pauseAccepting(a, nil, time.Second)
			continue
		}
		c, err := a.ln.AcceptTCP()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			if outOfDescriptors(err) {
				s.pauseAccepting(a, err, backoff)
				continue
			}
			s.Logger().Error("accept failed", "address", a.ln.Addr().String(), "err", err, "retry_in", backoff)
			time.Sleep(backoff)
			continue
		}
		backoff = 0
		if !s.accepted(a, c, nil) {
			return
		}
	}
}

// accepted admits c, accepted from a's socket: it refuses or drops it,
// or starts its session, on a goroutine or, when loop is not nil, as a
// task on that event loop (which accepted c). It reports false when the
// server is closing.
func (s *Server) accepted(a *acceptor, c evloop.Socket, loop *evloop.Loop) bool {
	l := a.cur.Load()
	switch adm, reason := s.gate.admit(); adm {
	case admitRefuse:
		s.observer().Refused(l.site.proto.Name(), reason)
		s.logRefusal(l, reason)
		if loop == nil {
			go s.refuse(l, c)
			return true
		}
		loop.Go(s.base, func(ctx context.Context) {
			adopt(ctx, c)
			s.refuse(l, c)
		})
		return true
	case admitDrop:
		s.observer().Refused(l.site.proto.Name(), reason)
		s.logRefusal(l, reason)
		c.Close()
		return true
	}
	cc := newClientConn(s, l, c)
	s.observer().SessionStarted(cc.site.proto.Name())
	if !s.track(cc, true) {
		c.Close()
		s.gate.ended(cc.units)
		return false
	}
	s.wg.Add(1)
	if loop == nil {
		go cc.serve()
		return true
	}
	loop.Go(cc.ctx, func(ctx context.Context) {
		cc.ctx = ctx
		adopt(ctx, c)
		cc.serve()
	})
	return true
}

// adopt makes the task of ctx the owner of c when c is on an event loop.
func adopt(ctx context.Context, c evloop.Socket) {
	if lc, ok := c.(*evloop.Conn); ok {
		lc.Adopt(ctx)
	}
}

// track adds or removes a connection, counting it for its
// configuration's generation; adding fails once the server is shutting
// down.
func (s *Server) track(c *clientConn, add bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if add {
		if s.closed {
			return false
		}
		s.conns[c] = struct{}{}
		c.site.gen.sessions++
		return true
	}
	delete(s.conns, c)
	c.site.gen.sessionEnded()
	return true
}

// stopping reports whether Shutdown or Close has begun.
func (s *Server) stopping() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// Sessions returns how many connections are open.
func (s *Server) Sessions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

func (s *Server) closeListeners() {
	s.rmu.Lock()
	defer s.rmu.Unlock()
	for _, a := range s.accs {
		a.close()
	}
}

// Shutdown stops accepting and waits for open sessions to finish, up to
// ctx; then it logs how many sessions are left, closes them and returns
// ctx's error.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.closeListeners()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		s.cancel()
		s.stopPoller()
		s.stopLoops()
		s.closeAuthClients()
		return nil
	case <-ctx.Done():
		s.Logger().Info("shutdown timeout: closing the remaining sessions", "sessions", s.Sessions())
		s.Close()
		return ctx.Err()
	}
}

// errNoPoller is newPoller's error on systems without epoll
// (poller_other.go), where sessions are always relayed with goroutines.
var errNoPoller = errors.New("idle sessions are parked with epoll, which this system does not have")

// poller returns the server's poller, creating it on first use; nil if it
// cannot be created (then sessions are relayed with goroutines).
func (s *Server) poller() *poller {
	s.pmu.Lock()
	defer s.pmu.Unlock()
	if s.parker == nil && !s.parkerOff {
		p, err := newPoller()
		if err != nil {
			if !errors.Is(err, errNoPoller) {
				s.Logger().Error("cannot create the epoll instance for idle sessions; relaying with goroutines", "err", err)
			}
			s.parkerOff = true // do not retry
			return nil
		}
		s.parker = p
	}
	return s.parker
}

// stopPoller stops the poller once no session can use it any more.
func (s *Server) stopPoller() {
	s.pmu.Lock()
	defer s.pmu.Unlock()
	if s.parker != nil {
		s.parker.close()
		s.parker = nil
	}
	s.parkerOff = true
}

// Close stops accepting and closes every connection at once.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	conns := make([]*clientConn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	s.closeListeners()
	s.cancel()
	for _, c := range conns {
		c.abort()
	}
	s.wg.Wait()
	s.stopPoller()
	s.stopLoops()
	s.closeAuthClients()
	if sh, ok := s.store.(*limit.Shared); ok {
		sh.Close()
	}
	s.installThrottle(nil)
	return nil
}

// closeAuthClients closes the auth connections kept for reuse.
func (s *Server) closeAuthClients() {
	s.rmu.Lock()
	defer s.rmu.Unlock()
	for _, st := range s.sites {
		st.auth.CloseIdle()
	}
}
