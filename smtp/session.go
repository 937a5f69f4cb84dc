package smtp

import (
	"context"
	"errors"
	"net"
	"time"

	"mailproxy/internal/session"
)

// errTooLong reports a command that does not fit the client buffer.
var errTooLong = errors.New("client sent too long command")

// saslState is where a SASL exchange stands (nginx's mail_state).
type saslState int

const (
	stStart saslState = iota // not in an exchange: lines are commands
	stLoginUsername
	stLoginPassword
	stPlain
	stCRAMMD5
	stExternal
)

// conn is the state of one pre-auth dialogue.
type conn struct {
	s        *Server
	c        *session.Conn
	ctx      context.Context
	buf      []byte // smtp_client_buffer; rewound only when fully consumed
	pos      int
	last     int
	deadline time.Time // the pre-auth deadline
	errors   int       // parser errors, for max_errors
	attempt  int       // Auth-Login-Attempt
	salt     string    // CRAM-MD5 salt, made on first use

	host  string    // Client-Host / XCLIENT NAME=
	helo  string    // HELO/EHLO argument; cleared by STARTTLS
	esmtp bool      // the client used EHLO at some point
	from  string    // MAIL command as typed (smtp_auth none)
	to    string    // RCPT command as typed
	state saslState // SASL exchange in progress
	user  string    // AUTH LOGIN user name awaiting its password
}

// Serve runs the pre-auth dialogue on c (SPEC §6): the client host lookup
// (the client is not read meanwhile; failures are logged with c.Log), the
// greeting delay with its rejection of clients that talk first, the
// greeting, then commands, SASL, STARTTLS and the auth requests until the
// auth service accepts a login. It returns that login, or an error once
// the session is over (every reply due has been sent; session.ErrClosed
// when the dialogue ended it on purpose). The caller owns and closes
// c.Conn.
func (s *Server) Serve(ctx context.Context, c *session.Conn) (*session.Login, error) {
	x := &conn{s: s, c: c, ctx: ctx, buf: s.bufs.Get()}
	defer func() { s.bufs.Put(x.buf); x.buf = nil }()
	host, err := s.opts.Resolver.ClientHost(ctx, c.Client.Addr())
	if err != nil {
		c.Log.Error(err.Error())
	}
	x.host = host
	if s.opts.GreetingDelay > 0 {
		if err := x.delayGreeting(); err != nil {
			return nil, err
		}
	}
	if err := x.write(s.greeting); err != nil {
		return nil, err
	}
	x.arm()
	return x.loop()
}

// delayGreeting waits smtp_greeting_delay (SPEC §6.3). A client that sends
// anything meanwhile — bytes that arrived during the DNS lookups included
// — gets the pipelining error without a greeting and the session ends.
func (x *conn) delayGreeting() error {
	x.c.Conn.SetReadDeadline(time.Now().Add(x.s.opts.GreetingDelay))
	for {
		n, err := x.c.Conn.Read(x.buf)
		if n > 0 {
			x.c.Log.Info("client was rejected before greeting", "data", underscore(x.buf[:n]))
			x.write([]byte(replyPipelining))
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

// arm starts the pre-auth deadline (SPEC §2.3): at the greeting, after an
// Auth-Wait delay; commands do not re-arm it.
func (x *conn) arm() {
	x.deadline = time.Now().Add(x.c.Timeout)
	x.c.Conn.SetReadDeadline(x.deadline)
}

func (x *conn) loop() (*session.Login, error) {
	for {
		cmd, st := parseCommand(x.buf[x.pos:x.last], x.state != stStart)
		if st == parseInvalid && cmd.lineEnd < 0 {
			st = parseAgain // nginx answers a bad line once its LF is in
		}
		switch st {
		case parseAgain:
			if x.last == len(x.buf) {
				x.c.Log.Info("client sent too long command")
				x.write([]byte(replyInvalidCommand))
				return nil, errTooLong
			}
			if err := x.fill(); err != nil {
				return nil, err
			}
		case parseInvalid:
			x.pos += cmd.lineEnd
			x.state = stStart
			x.errors++
			if err := x.write([]byte(replyInvalidCommand)); err != nil {
				return nil, err
			}
			if x.errors >= x.s.opts.MaxErrors {
				x.c.Log.Info("client sent too many invalid commands")
				return nil, session.ErrClosed
			}
			x.rewind()
		case parseOK:
			x.pos += cmd.n
			login, err := x.handle(cmd)
			if login != nil || err != nil {
				return login, err
			}
			x.rewind()
		}
	}
}

// rewind empties the buffer once every buffered byte has been consumed:
// the only point where nginx rewinds it (SPEC §3.3), so the limit applies
// to unconsumed pipelined bytes plus the partial command.
func (x *conn) rewind() {
	if x.pos == x.last {
		x.pos, x.last = 0, 0
	}
}

// fill reads more client bytes after the buffered ones.
func (x *conn) fill() error {
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

// write sends b whole, bounded by `timeout` as nginx's send timer is.
func (x *conn) write(b []byte) error {
	x.c.Conn.SetWriteDeadline(time.Now().Add(x.c.Timeout))
	_, err := x.c.Conn.Write(b)
	return err
}

func (x *conn) reply(s string) error { return x.write([]byte(s)) }

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
