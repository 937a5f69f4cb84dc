package smtp

import (
	"context"
	"errors"
	"net"
	"time"

	"mailproxy/internal/session"
)

// Serve runs the pre-auth dialogue on c (SPEC §6): the client host lookup
// (the client is not read meanwhile; failures are logged with c.Log), the
// greeting delay with its rejection of clients that talk first, then the
// engine-driven dialogue (see session.Run) until the auth service accepts
// a login, which it returns, or the session is over. The caller owns and
// closes c.Conn.
func (s *Server) Serve(ctx context.Context, c *session.Conn) (*session.Login, error) {
	buf := s.bufs.Get()
	defer s.bufs.Put(buf)
	host, err := s.opts.Resolver.ClientHost(ctx, c.Client.Addr())
	if err != nil {
		c.Log.Error(err.Error())
	}
	if s.opts.GreetingDelay > 0 {
		if err := s.delayGreeting(c, buf); err != nil {
			return nil, err
		}
	}
	x := &core{s: s, c: c, host: host}
	return session.Run(ctx, c, session.Dialogue{Core: x, Buf: buf, MaxErrors: s.opts.MaxErrors, Replies: Replies})
}

// delayGreeting waits smtp_greeting_delay (SPEC §6.3). A client that sends
// anything meanwhile — bytes that arrived during the DNS lookups included
// — gets the pipelining error without a greeting and the session ends.
func (s *Server) delayGreeting(c *session.Conn, buf []byte) error {
	c.Conn.SetReadDeadline(time.Now().Add(s.opts.GreetingDelay))
	for {
		n, err := c.Conn.Read(buf)
		if n > 0 {
			c.Log.Info("client was rejected before greeting", "data", underscore(buf[:n]))
			c.Conn.SetWriteDeadline(time.Now().Add(c.Timeout))
			c.Conn.Write([]byte(replyPipelining))
			return session.ErrClosed
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// underscore is nginx's rendering of rejected client bytes in a log line:
// CR and LF shown as '_'.
func underscore(b []byte) string {
	out := []byte(string(b))
	for i, c := range out {
		if c == '\r' || c == '\n' {
			out[i] = '_'
		}
	}
	return string(out)
}
