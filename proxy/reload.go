package proxy

import (
	"context"
	"fmt"
	"net"

	"mailproxy/config"
)

// bind returns the listeners of sites, reusing the sockets of old (by
// listen address) and binding the others. On failure it closes what it
// bound and leaves old untouched. The caller holds s.rmu.
func (s *Server) bind(sites []*site, old map[string]*acceptor) ([]*listener, map[string]*acceptor, error) {
	accs := map[string]*acceptor{}
	var lns []*listener
	var fresh []*acceptor
	for _, st := range sites {
		for _, lc := range st.cfg.Listen {
			var a *acceptor
			if !ephemeral(lc.Address) {
				a = old[lc.Address]
			}
			if a == nil {
				ln, err := s.listen(lc.Address)
				if err != nil {
					for _, f := range fresh {
						f.ln.Close()
					}
					return nil, nil, fmt.Errorf("listen %s: %w", lc.Address, err)
				}
				tl, ok := ln.(*net.TCPListener)
				if !ok {
					ln.Close()
					for _, f := range fresh {
						f.ln.Close()
					}
					return nil, nil, fmt.Errorf("listen %s: not a TCP socket", lc.Address)
				}
				a = &acceptor{ln: tl}
				fresh = append(fresh, a)
			}
			l := &listener{ln: a.ln, addr: a.ln.Addr().String(), site: st, cfg: lc}
			accs[acceptorKey(l)] = a
			lns = append(lns, l)
		}
	}
	for _, l := range lns {
		accs[acceptorKey(l)].cur.Store(l)
	}
	return lns, accs, nil
}

// listen returns a socket for address: an inherited one (socket
// activation) when the source has one, else a new bind.
// noKeepAlive binds listeners whose connections get no TCP keep-alive
// probes, as nginx's (so_keepalive off): Go would otherwise set four
// socket options on every accepted connection.
var noKeepAlive = net.ListenConfig{KeepAlive: -1}

func (s *Server) listen(address string) (net.Listener, error) {
	if s.inherited != nil {
		if ln := s.inherited(address); ln != nil {
			s.Logger().Info("using an inherited socket", "address", address)
			return ln, nil
		}
	}
	return noKeepAlive.Listen(context.Background(), "tcp", address)
}

// SetInherited gives the server sockets it did not bind itself (systemd
// socket activation): for each listen address to bind, from (under Listen
// or Reload) is asked first and may return a *net.TCPListener already
// listening there, or nil. Call it before Listen.
func (s *Server) SetInherited(from func(address string) net.Listener) {
	s.rmu.Lock()
	defer s.rmu.Unlock()
	s.inherited = from
}

// acceptorKey identifies a listener's socket across reloads: its listen
// address, or for port 0 (tests) the address it was bound to, which no
// other configuration can name.
func acceptorKey(l *listener) string {
	if ephemeral(l.cfg.Address) {
		return "bound " + l.ln.Addr().String()
	}
	return l.cfg.Address
}

// ephemeral reports a listen address with port 0.
func ephemeral(addr string) bool {
	_, port, err := net.SplitHostPort(addr)
	return err == nil && port == "0"
}

// Reload switches to cfg without dropping anything: the new runtime state
// is built first (an error leaves the old configuration serving);
// listeners whose address is unchanged keep their socket, so no
// connection is refused during the swap; new addresses are bound (a bind
// failure rolls everything back); removed addresses stop accepting.
// Established sessions — before login or spliced — keep the configuration
// they were accepted with, and its loggers (SetLogs builds the new ones;
// if it fails, so does the reload), until the old configuration's
// worker_shutdown_timeout closes them. Reload must not be called before
// Listen.
func (s *Server) Reload(cfg *config.Config) error {
	err := s.reload(cfg)
	s.observer().Reload(err == nil)
	return err
}

func (s *Server) reload(cfg *config.Config) error {
	s.rmu.Lock()
	zones := s.zones
	s.rmu.Unlock()
	sites, err := buildSites(cfg, zones)
	if err != nil {
		return err
	}
	thr, err := s.prepareThrottle(cfg)
	if err != nil {
		return err
	}
	installed := false
	defer func() {
		if !installed {
			s.discardThrottle(thr)
		}
	}()
	s.watch(sites)
	s.watchSessions(sites)
	s.rmu.Lock()
	defer s.rmu.Unlock()
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return fmt.Errorf("reload: the server is shutting down")
	}
	var logs Logs
	if s.logsFunc != nil {
		if logs, err = s.logsFunc(cfg); err != nil {
			return err
		}
	}
	gen := &generation{cfg: cfg}
	gen.attach(sites, logs)
	old := s.accs
	// bind points kept sockets at their new listener only once every new
	// address is bound, so a failed bind leaves the old state serving.
	lns, accs, err := s.bind(sites, old)
	if err != nil {
		if logs.Release != nil {
			logs.Release()
		}
		return err
	}
	for _, st := range s.sites {
		st.auth.CloseIdle() // sessions of the old configuration still work
	}
	oldGen := s.gen
	inheritRefusals(s.sites, sites)
	s.gen, s.sites, s.lns, s.accs = gen, sites, lns, accs
	s.installThrottle(thr)
	installed = true
	if logs.Main != nil {
		s.logp.Store(logs.Main)
	}
	s.retire(oldGen)
	s.zones = zoneMap(cfg)
	s.gate.configure(cfg, s.Logger())
	// New accept loops start before removed ones stop, so Serve never
	// sees zero loops (and returns) in the middle of a reload.
	s.startAccepting()
	kept := map[*acceptor]bool{}
	for _, a := range accs {
		kept[a] = true
	}
	for _, a := range old {
		if !kept[a] {
			a.close()
			s.Logger().Info("listener removed", "address", a.ln.Addr().String())
		}
	}
	return nil
}
