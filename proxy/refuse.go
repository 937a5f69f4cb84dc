package proxy

import (
	"net"
	"syscall"
	"time"

	"mailproxy/internal/evloop"
	"mailproxy/internal/proxyproto"
	mailtls "mailproxy/tls"
)

// refuse answers a connection the gate did not admit with its protocol's
// try-later reply (after the PROXY header and the TLS handshake the
// listener expects, all within refusalTimeout) and closes it. It runs in
// its own goroutine, one of at most gate.refusals.
func (s *Server) refuse(l *listener, c evloop.Socket) {
	defer s.gate.refused()
	defer c.Close()
	deadline := time.Now().Add(min(l.site.cfg.Timeout, refusalTimeout))
	if l.cfg.ProxyProtocol {
		if _, err := proxyproto.Read(c, deadline); err != nil {
			return
		}
	}
	var conn net.Conn = c
	if l.cfg.SSL {
		tc := mailtls.Server(c, l.site.tls)
		if err := mailtls.Handshake(tc, deadline); err != nil {
			return
		}
		conn = tc
	}
	conn.SetWriteDeadline(deadline)
	writeAll(conn, l.site.proto.Replies().TryLater)
	drain(c)
}

// logRefusal logs a refusal by the gate, at most one line per logEvery.
func (s *Server) logRefusal(l *listener, reason string) {
	ok, skipped := s.gate.every("refused " + reason)
	if !ok {
		return
	}
	sessions, units := s.gate.counts()
	msg := "connection refused: max_connections reached"
	if reason != "max_connections" {
		msg = "connection refused: no descriptors left for another session"
	}
	s.Logger().Warn(msg, "server", l.addr, "protocol", l.site.proto.Name(),
		"sessions", sessions, "descriptors_reserved", units, "refused_unlogged", skipped)
}

// pauseAccepting waits after an accept loop found the process out of
// descriptors (err) or the refusals in flight at their bound (err nil),
// for at most d or until descriptors are released, and logs at most one
// line per logEvery about it.
func (s *Server) pauseAccepting(a *acceptor, err error, d time.Duration) {
	reason := "refusals"
	if err != nil {
		reason = "descriptors"
	}
	s.observer().AcceptPaused(reason)
	if ok, skipped := s.gate.every("paused " + reason); ok {
		sessions, units := s.gate.counts()
		attrs := []any{"address", a.ln.Addr().String(), "sessions", sessions, "descriptors_reserved", units, "retry_in", d, "pauses_unlogged", skipped}
		if err != nil {
			s.Logger().Error("accept paused: the process is out of descriptors", append(attrs, "err", err)...)
		} else {
			s.Logger().Warn("accept paused: too many connections being refused", attrs...)
		}
	}
	s.gate.wait(d)
}

// drain reads whatever the client already sent, without waiting, so that
// closing the socket sends FIN after the reply rather than a reset that
// could destroy it.
func drain(c evloop.Socket) {
	rc, err := c.SyscallConn()
	if err != nil {
		return
	}
	var buf [512]byte
	rc.Read(func(fd uintptr) bool {
		for {
			n, err := syscall.Read(int(fd), buf[:])
			if n <= 0 || err != nil {
				return true
			}
		}
	})
}
