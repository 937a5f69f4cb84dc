package proxy

import (
	"context"
	"errors"
	"net"
	"runtime"
	"time"

	"mailproxy/internal/evloop"
	"mailproxy/internal/outcome"
)

// startLoops creates the server's event loops: n of them (0: none, the
// sessions then run on goroutines; -1: one per CPU Go may use), and gives
// Go one P more than there are loops. A system without epoll has none.
func (s *Server) startLoops(n int) {
	if n < 0 {
		n = startProcs
	}
	if n > 0 && n >= runtime.GOMAXPROCS(0) {
		// A loop waits in epoll_wait, a system call. With every P in
		// one, Go's sysmon takes a waiting loop's P and wakes a thread
		// to look for work, at every wait: thread wake-ups, futex calls
		// and context switches per login. With one P more than there
		// are loops, one is idle, and a waiting loop keeps its own.
		runtime.GOMAXPROCS(n + 1)
	}
	for i := 0; i < n; i++ {
		l, err := evloop.New()
		if err != nil {
			if !errors.Is(err, evloop.ErrUnsupported) {
				s.Logger().Error("cannot create an event loop; sessions run on goroutines", "err", err)
			}
			s.stopLoops()
			return
		}
		s.loops = append(s.loops, l)
	}
}

// startProcs is the number of CPUs Go may use as the process starts
// (GOMAXPROCS before startLoops raises it): event_loops auto's count.
var startProcs = runtime.GOMAXPROCS(0)

// stopLoops ends the event loops once every session has ended.
func (s *Server) stopLoops() {
	for _, l := range s.loops {
		l.Close()
	}
	s.loops = nil
}

// storeCall runs f, a call to a store (limit_conn's, login_throttle's):
// off the session's event loop (evloop.Block) when the store is a server
// (remote), a network round trip; a memory store answers at once.
func storeCall(ctx context.Context, remote bool, f func()) {
	if remote {
		evloop.Block(ctx, f)
		return
	}
	f()
}

// close stops accepting from the acceptor's socket.
func (a *acceptor) close() {
	if a.loopLn != nil && a.loopLn.Close() == nil {
		a.closed()
	}
	a.ln.Close()
}

// acceptOnLoops makes every event loop accept from a's socket (Go's
// poller no longer watches it) and reports whether they do; false leaves
// it to an accept goroutine. With s.rmu held.
func (s *Server) acceptOnLoops(a *acceptor) bool {
	if len(s.loops) == 0 {
		return false
	}
	ln, err := evloop.NewListener(a.ln)
	if err != nil {
		s.Logger().Error("event loops cannot accept; accepting on a goroutine", "address", a.ln.Addr().String(), "err", err)
		return false
	}
	a.loopLn = ln
	a.ln.Close()    // ln holds the socket
	s.accept.Add(1) // Serve returns once every listener is closed
	a.closed = s.accept.Done
	for _, l := range s.loops {
		l.Post(func() {
			var w *evloop.Watch
			var err error
			var backoff time.Duration
			paused := false
			pause := func(err error, d time.Duration) {
				paused = true
				w.Pause()
				go func() {
					s.pauseAccepting(a, err, d)
					l.Post(func() {
						paused = false
						if err := w.Resume(); err != nil && !errors.Is(err, net.ErrClosed) {
							s.Logger().Error("accept failed", "address", ln.Addr().String(), "err", err)
						}
					})
				}()
			}
			w, err = ln.Watch(l, func(c *evloop.Conn) {
				backoff = 0
				if s.gate.full() && !paused {
					// Taken already: refused below; no more until
					// descriptors or refusals free up.
					pause(nil, time.Second)
				}
				s.accepted(a, c, l)
			}, func(err error) {
				if paused {
					return
				}
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				if !outOfDescriptors(err) {
					s.Logger().Error("accept failed", "address", ln.Addr().String(), "err", err, "retry_in", backoff)
				}
				pause(err, backoff)
			})
			if err != nil && !errors.Is(err, net.ErrClosed) {
				s.Logger().Error("an event loop cannot accept", "address", ln.Addr().String(), "err", err)
			}
		})
	}
	return true
}

// spliceFromLoop relays a session whose login ran on an event loop. Plain
// TCP on both sides stays on the loop (looprelay.go). A TLS session's
// sockets are handed to Go's poller (evloop.Conn.Release) and relayed by
// goroutines, off the loop; so is a plain one whose loop relay cannot
// start (then parked in the server's poller as any other session). It
// always returns parked: the relay ends the session.
func (cc *clientConn) spliceFromLoop() (outcome.End, bool) {
	plain := cc.conn == net.Conn(cc.tcp) && cc.backend == net.Conn(cc.backendTCP)
	if plain && cc.relayOnLoop() {
		return outcome.End{}, true
	}
	client, err := released(cc.tcp)
	if err != nil {
		return cc.releaseFailed(outcome.ClientError.With(err)), false
	}
	backend, err := released(cc.backendTCP)
	if err != nil {
		return cc.releaseFailed(outcome.BackendError.With(err)), false
	}
	cc.mu.Lock()
	cc.tcp, cc.backendTCP = client, backend
	if plain {
		cc.conn, cc.backend = client, backend
	}
	cc.mu.Unlock()
	if plain {
		if p := cc.srv.poller(); p != nil {
			if err := startRelay(cc, p); err == nil {
				return outcome.End{}, true
			}
		}
	}
	go func() {
		defer cc.finish()
		defer func() {
			if v := recover(); v != nil {
				cc.outcome = cc.panicked(v)
			}
		}()
		cc.outcome = cc.spliceGoroutines()
	}()
	return outcome.End{}, true
}

// released hands s, when it is on an event loop, to Go's poller and
// returns the connection that now carries it.
func released(s evloop.Socket) (evloop.Socket, error) {
	lc, ok := s.(*evloop.Conn)
	if !ok {
		return s, nil
	}
	if err := lc.Release(); err != nil {
		return nil, err
	}
	return lc.Inner(), nil
}

// releaseFailed names the end of a session whose socket could not be
// handed over: the shutdown when a hard stop closed it.
func (cc *clientConn) releaseFailed(e outcome.End) outcome.End {
	if cc.ctx.Err() != nil {
		return outcome.Shutdown.With(nil)
	}
	return e
}
