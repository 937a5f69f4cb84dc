package proxy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"mailproxy/config"
)

// Server runs every listener of a configuration.
type Server struct {
	log   *slog.Logger
	sites []*site
	lns   []*listener

	base   context.Context
	cancel context.CancelFunc

	mu     sync.Mutex
	conns  map[*clientConn]struct{}
	closed bool
	wg     sync.WaitGroup // connection goroutines
	accept sync.WaitGroup // accept loops
}

// listener is one bound listen entry and the site it serves.
type listener struct {
	ln   *net.TCPListener
	site *site
	cfg  config.Listen
}

// New builds the runtime state of cfg: auth clients, TLS settings and
// protocol front ends. Nothing is bound yet.
func New(cfg *config.Config, log *slog.Logger) (*Server, error) {
	s := &Server{log: log, conns: map[*clientConn]struct{}{}}
	for _, sc := range cfg.Servers {
		st, err := newSite(sc)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", cfg.File, sc.Line, err)
		}
		s.sites = append(s.sites, st)
	}
	s.base, s.cancel = context.WithCancel(context.Background())
	return s, nil
}

// Listen binds every listen entry. On failure nothing stays bound.
func (s *Server) Listen() error {
	for _, st := range s.sites {
		for _, l := range st.cfg.Listen {
			ln, err := net.Listen("tcp", l.Address)
			if err != nil {
				s.closeListeners()
				return fmt.Errorf("listen %s: %w", l.Address, err)
			}
			s.lns = append(s.lns, &listener{ln: ln.(*net.TCPListener), site: st, cfg: l})
		}
	}
	return nil
}

// Addrs returns the bound addresses, in configuration order.
func (s *Server) Addrs() []net.Addr {
	var out []net.Addr
	for _, l := range s.lns {
		out = append(out, l.ln.Addr())
	}
	return out
}

// Serve accepts on every bound listener until Shutdown or Close, then
// returns nil.
func (s *Server) Serve() error {
	for _, l := range s.lns {
		s.log.Info("listening", "address", l.ln.Addr().String(), "protocol", l.site.proto.name, "ssl", l.cfg.SSL, "proxy_protocol", l.cfg.ProxyProtocol)
		s.accept.Add(1)
		go s.acceptLoop(l)
	}
	s.accept.Wait()
	return nil
}

// acceptLoop accepts connections of l, backing off on temporary errors.
func (s *Server) acceptLoop(l *listener) {
	defer s.accept.Done()
	var backoff time.Duration
	for {
		c, err := l.ln.AcceptTCP()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			s.log.Error("accept failed", "address", l.cfg.Address, "err", err, "retry_in", backoff)
			time.Sleep(backoff)
			continue
		}
		backoff = 0
		cc := newClientConn(s, l, c)
		if !s.track(cc, true) {
			c.Close()
			return
		}
		s.wg.Add(1)
		go cc.serve()
	}
}

// track adds or removes a connection; adding fails once the server is
// shutting down.
func (s *Server) track(c *clientConn, add bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if add {
		if s.closed {
			return false
		}
		s.conns[c] = struct{}{}
		return true
	}
	delete(s.conns, c)
	return true
}

// Sessions returns how many connections are open.
func (s *Server) Sessions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

func (s *Server) closeListeners() {
	for _, l := range s.lns {
		l.ln.Close()
	}
}

// Shutdown stops accepting and waits for open sessions to finish, up to
// ctx; then it closes whatever is left and returns ctx's error.
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
		return nil
	case <-ctx.Done():
		s.Close()
		return ctx.Err()
	}
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
	return nil
}
