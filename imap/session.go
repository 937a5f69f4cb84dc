package imap

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"mailproxy/authhttp"
	"mailproxy/internal/session"
)

// errTooLong reports a command that does not fit the client buffer.
var errTooLong = errors.New("client sent too long command")

// conn is the state of one pre-auth dialogue.
type conn struct {
	s        *Server
	c        *session.Conn
	ctx      context.Context
	buf      []byte // imap_client_buffer; rewound only when fully consumed
	pos      int
	last     int
	contSent int       // literal offset whose "+ OK" was sent
	deadline time.Time // the pre-auth deadline
	errors   int       // parser errors, for max_errors
	attempt  int       // Auth-Login-Attempt
	salt     string    // CRAM-MD5 salt, made on first use
}

// Serve runs the pre-auth dialogue on c: greeting, commands, SASL,
// STARTTLS, and the auth requests, until the auth service accepts a login.
// It returns that login, or an error once the session is over (every reply
// due has been sent; session.ErrClosed when the dialogue ended it on
// purpose). The caller owns and closes c.Conn.
func (s *Server) Serve(ctx context.Context, c *session.Conn) (*session.Login, error) {
	x := &conn{s: s, c: c, ctx: ctx, buf: s.bufs.Get()}
	defer func() { s.bufs.Put(x.buf); x.buf = nil }()
	if err := x.write([]byte(greeting)); err != nil {
		return nil, err
	}
	x.arm()
	return x.loop()
}

// arm starts the pre-auth deadline (SPEC §2.3): at the greeting, after an
// Auth-Wait delay; commands do not re-arm it.
func (x *conn) arm() {
	x.deadline = time.Now().Add(x.c.Timeout)
	x.c.Conn.SetReadDeadline(x.deadline)
}

func (x *conn) loop() (*session.Login, error) {
	for {
		cmd, st := parseCommand(x.buf[x.pos:x.last], x.contSent)
		switch st {
		case parseCont:
			if err := x.write([]byte(contOK)); err != nil {
				return nil, err
			}
			x.contSent = cmd.contAt
		case parseAgain:
			if x.last == len(x.buf) {
				x.c.Log.Info("client sent too long command")
				x.reply(cmd.tag, cmd.hasTag, badCommand)
				return nil, errTooLong
			}
			if err := x.fill(); err != nil {
				return nil, err
			}
		case parseInvalid:
			if err := x.invalid(cmd); err != nil {
				return nil, err
			}
		case parseOK:
			x.pos += cmd.n
			x.contSent = 0
			login, err := x.handle(cmd)
			if login != nil || err != nil {
				return login, err
			}
		}
	}
}

// fill reads more client bytes, rewinding the buffer first when every
// buffered byte has been consumed (nginx's rule, SPEC §3.3).
func (x *conn) fill() error {
	if x.pos == x.last {
		x.pos, x.last = 0, 0
	}
	n, err := x.c.Conn.Read(x.buf[x.last:])
	x.last += n
	if n > 0 {
		return nil
	}
	if err == nil {
		err = errors.New("empty read")
	}
	return err
}

// invalid answers a parser error once its line has fully arrived, counts
// it for max_errors, and closes when nginx closes: at max_errors, and after
// a bad line ending in "+}" (non-synchronizing literal bytes would follow).
func (x *conn) invalid(cmd command) error {
	tag := append([]byte(nil), cmd.tag...)
	var tail []byte
	for cmd.lineEnd < 0 {
		// Skip the rest of the bad line as it arrives.
		line := x.buf[x.pos:x.last]
		tail = lastTwo(tail, line)
		x.pos = x.last
		if err := x.fill(); err != nil {
			return err
		}
		if i := bytes.IndexByte(x.buf[x.pos:x.last], '\n'); i >= 0 {
			cmd.lineEnd = i + 1
		}
	}
	line := bytes.TrimRight(x.buf[x.pos:x.pos+cmd.lineEnd], "\r\n")
	tail = lastTwo(tail, line)
	x.pos += cmd.lineEnd
	x.contSent = 0
	x.errors++
	if err := x.reply(tag, cmd.hasTag, badCommand); err != nil {
		return err
	}
	if x.errors >= x.s.opts.MaxErrors {
		x.c.Log.Info("client sent too many invalid commands")
		return session.ErrClosed
	}
	if bytes.Equal(tail, []byte("+}")) {
		return session.ErrClosed
	}
	return nil
}

// lastTwo keeps the last two bytes of the bad line seen so far.
func lastTwo(tail, more []byte) []byte {
	t := append(append([]byte(nil), tail...), more...)
	if len(t) > 2 {
		t = t[len(t)-2:]
	}
	return t
}

// reply writes "<tag> <text>", or "* <text>" when no tag was parsed.
func (x *conn) reply(tag []byte, hasTag bool, text string) error {
	if !hasTag {
		return x.write([]byte("* " + text))
	}
	b := make([]byte, 0, len(tag)+1+len(text))
	b = append(append(append(b, tag...), ' '), text...)
	return x.write(b)
}

// write sends b whole, bounded by `timeout` as nginx's send timer is.
func (x *conn) write(b ...[]byte) error {
	x.c.Conn.SetWriteDeadline(time.Now().Add(x.c.Timeout))
	for _, p := range b {
		if _, err := x.c.Conn.Write(p); err != nil {
			return err
		}
	}
	return nil
}

// handle runs one complete command. It returns a login when the auth
// service accepted credentials.
func (x *conn) handle(cmd command) (*session.Login, error) {
	tag := string(cmd.tag)
	refuseBeforeTLS := x.s.opts.StartTLS == configOnly && !x.c.TLS
	switch cmd.verb {
	case "NOOP":
		return nil, x.tagged(tag, okCompleted)
	case "CAPABILITY":
		return nil, x.write(x.s.capabilities(x.c.TLS), []byte(tag+" "+okCompleted))
	case "LOGOUT":
		if err := x.write([]byte(bye), []byte(tag+" "+okCompleted)); err != nil {
			return nil, err
		}
		return nil, session.ErrClosed
	case "STARTTLS":
		if x.s.opts.StartTLS == configOff || x.c.TLS {
			return nil, x.tagged(tag, badCommand)
		}
		return nil, x.starttls(tag)
	case "LOGIN":
		if refuseBeforeTLS || len(cmd.args) != 2 || len(cmd.args[0]) == 0 {
			return nil, x.tagged(tag, badCommand)
		}
		return x.authenticate(tag, authhttp.MethodPlain, string(cmd.args[0]), string(cmd.args[1]))
	case "AUTHENTICATE":
		if refuseBeforeTLS || len(cmd.args) == 0 {
			return nil, x.tagged(tag, badCommand)
		}
		return x.sasl(tag, cmd.args)
	}
	return nil, fmt.Errorf("imap: unhandled verb %q", cmd.verb)
}

func (x *conn) tagged(tag, text string) error {
	return x.write([]byte(tag + " " + text))
}

// starttls answers OK in clear, discards every buffered plaintext byte
// (command injection, SPEC §8.2) and runs the handshake under the running
// pre-auth deadline. No new greeting follows.
func (x *conn) starttls(tag string) error {
	if err := x.tagged(tag, okCompleted); err != nil {
		return err
	}
	x.pos, x.last, x.contSent = 0, 0, 0
	if err := x.c.StartTLS(x.deadline); err != nil {
		return err
	}
	x.c.Conn.SetReadDeadline(x.deadline)
	return nil
}

// authenticate sends one set of credentials to the auth service and acts
// on the verdict (SPEC §10.4): a login, a delayed failure that keeps the
// session, or a failure that ends it.
func (x *conn) authenticate(tag, method, user, pass string) (*session.Login, error) {
	x.attempt++
	req := &authhttp.Request{
		Method:       method,
		User:         user,
		Pass:         pass,
		Protocol:     "imap",
		LoginAttempt: x.attempt,
	}
	if method == authhttp.MethodCRAMMD5 {
		req.Salt = x.salt
	}
	x.c.Conn.SetReadDeadline(time.Time{})
	resp, err := x.c.Authenticate(x.ctx, req)
	if err != nil {
		x.write(InternalError)
		return nil, err
	}
	switch resp.Status {
	case authhttp.StatusOK:
		l := session.NewLogin(resp, user, pass)
		l.Tag = tag
		l.Pipelined = append([]byte(nil), x.buf[x.pos:x.last]...)
		return l, nil
	case authhttp.StatusFail:
		reply := []byte(tag + " NO " + resp.Text + "\r\n")
		if err := x.c.Refused(x.ctx, resp, user, reply, func(b []byte) error { return x.write(b) }); err != nil {
			return nil, err
		}
		x.arm()
		return nil, nil
	}
	x.write(InternalError)
	return nil, fmt.Errorf("imap: unexpected auth status %d", resp.Status)
}
