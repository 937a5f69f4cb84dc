package smtp

import (
	"bytes"
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
	return session.Run(ctx, c, session.Dialogue{Core: x, Buf: buf, MaxErrors: s.opts.MaxErrors, MaxCommands: s.opts.MaxCommands, Replies: Replies})
}

// delayGreeting waits smtp_greeting_delay (SPEC §6.3). A client that sends
// anything meanwhile — bytes that arrived during the DNS lookups included
// — gets the pipelining error without a greeting and the session ends.
func (s *Server) delayGreeting(c *session.Conn, buf []byte) error {
	c.Conn.SetReadDeadline(time.Now().Add(s.opts.GreetingDelay))
	for {
		n, err := c.Conn.Read(buf)
		if n > 0 {
			c.Log.Info("client was rejected before greeting", "length", n, "data", earlyData(buf[:n]))
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

// earlyPrefix is how many bytes of an early talker's input earlyData
// shows at most.
const earlyPrefix = 40

// earlyData is what the log shows of the bytes a client sent before the
// greeting: a short prefix, CR and LF as '_' (nginx's rendering), with
// what may carry a credential redacted. Of an AUTH line only the verb and
// the mechanism are kept; a line that is no SMTP command (a SASL
// response, base64 credentials, or anything else) is replaced as a whole.
// nginx logs the whole input verbatim, passwords included.
func earlyData(b []byte) string {
	var out []byte
	for len(b) > 0 && len(out) < earlyPrefix {
		line := b
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line = b[:i+1]
		}
		b = b[len(line):]
		body := bytes.TrimRight(line, "\r\n")
		eol := line[len(body):]
		verb, rest, _ := bytes.Cut(body, []byte(" "))
		switch k := knownVerb(verb); {
		case k == "AUTH":
			mech, more, _ := bytes.Cut(bytes.TrimLeft(rest, " "), []byte(" "))
			out = append(out, verb...)
			if len(mech) > 0 {
				out = append(append(out, ' '), mech...)
			}
			if len(bytes.TrimSpace(more)) > 0 {
				out = append(out, " [redacted]"...)
			}
		case k != "":
			out = append(out, body...)
		case len(body) > 0:
			out = append(out, "[redacted]"...)
		}
		out = append(out, eol...)
	}
	if len(out) > earlyPrefix {
		out = out[:earlyPrefix]
	}
	return underscore(out)
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
