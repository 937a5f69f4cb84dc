package pop3

import (
	"context"
	"errors"
	"time"

	"mailproxy/config"
	"mailproxy/internal/sasl"
	"mailproxy/internal/session"
)

// errTooLong reports a command that does not fit the 128-byte buffer.
var errTooLong = errors.New("client sent too long command")

// state is nginx's mail_state of a POP3 session.
type state int

const (
	stateStart     state = iota // ngx_pop3_start
	stateUser                   // after USER: PASS expected
	stateLoginUser              // AUTH LOGIN: the user name line expected
	stateLoginPass              // AUTH LOGIN: the password line expected
	statePlain                  // AUTH PLAIN: the response line expected
	stateCRAM                   // AUTH CRAM-MD5: the response line expected
	stateExternal               // AUTH EXTERNAL: the user name line expected
)

// sasl reports whether the next line is a SASL response, not a command.
func (s state) sasl() bool { return s >= stateLoginUser }

// conn is the state of one pre-auth dialogue.
type conn struct {
	s        *Server
	c        *session.Conn
	ctx      context.Context
	buf      []byte // the fixed 128-byte buffer; rewound only when fully consumed
	pos      int
	last     int
	deadline time.Time // the pre-auth deadline
	errors   int       // parser errors, for max_errors
	attempt  int       // Auth-Login-Attempt
	salt     string    // the greeting salt; "" unless apop or cram-md5 is enabled
	state    state
	user     string // USER argument, or the AUTH LOGIN user name
}

// Serve runs the pre-auth dialogue on c: greeting, commands, SASL, STLS,
// and the auth requests, until the auth service accepts a login. It
// returns that login, or an error once the session is over (every reply
// due has been sent; session.ErrClosed when the dialogue ended it on
// purpose: QUIT, max_errors, a refused login). The caller owns and closes
// c.Conn.
func (s *Server) Serve(ctx context.Context, c *session.Conn) (*session.Login, error) {
	x := &conn{s: s, c: c, ctx: ctx, buf: s.bufs.Get()}
	defer func() { s.bufs.Put(x.buf); x.buf = nil }()
	g := greeting
	if s.salted {
		x.salt = sasl.NewSalt(s.opts.ServerName)
		g = greetingPrefix + x.salt + "\r\n"
	}
	x.arm()
	if err := x.write([]byte(g)); err != nil {
		return nil, err
	}
	return x.loop()
}

// arm starts the pre-auth deadline (SPEC §2.3): at the greeting, after an
// Auth-Wait delay; commands do not re-arm it.
func (x *conn) arm() {
	x.deadline = time.Now().Add(x.c.Timeout)
	x.c.Conn.SetReadDeadline(x.deadline)
}

// loop parses and runs one buffered line at a time (pipelining, SPEC
// §3.2), reading more only when no complete line is buffered.
func (x *conn) loop() (*session.Login, error) {
	for {
		cmd, st := parseCommand(x.buf[x.pos:x.last], x.state.sasl())
		switch st {
		case parseAgain:
			if x.last == len(x.buf) {
				// Not counted for max_errors; the session ends (SPEC §3.3).
				x.c.Log.Info("client sent too long command")
				x.write([]byte(invalidCommand))
				return nil, errTooLong
			}
			if err := x.fill(); err != nil {
				return nil, err
			}
		case parseInvalid:
			x.pos += cmd.n
			x.errors++
			x.state = stateStart
			if err := x.write([]byte(invalidCommand)); err != nil {
				return nil, err
			}
			if x.errors >= x.s.opts.MaxErrors {
				x.c.Log.Info("client sent too many invalid commands")
				return nil, session.ErrClosed
			}
		case parseOK:
			x.pos += cmd.n
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

// write sends the replies whole, bounded by `timeout` as nginx's send
// timer is.
func (x *conn) write(b ...[]byte) error {
	x.c.Conn.SetWriteDeadline(time.Now().Add(x.c.Timeout))
	for _, p := range b {
		if _, err := x.c.Conn.Write(p); err != nil {
			return err
		}
	}
	return nil
}

// refuse answers a line a command handler rejects: "-ERR invalid
// command", back to state "start", not counted for max_errors.
func (x *conn) refuse() error {
	x.state = stateStart
	return x.write([]byte(invalidCommand))
}

// handle runs one complete line in the current state. It returns a login
// when the auth service accepted credentials.
func (x *conn) handle(cmd command) (*session.Login, error) {
	switch x.state {
	case stateStart:
		return x.start(cmd)
	case stateUser:
		return x.afterUser(cmd)
	}
	return x.saslStep(cmd)
}

// start runs a command in state "start" (SPEC §5.3).
func (x *conn) start(cmd command) (*session.Login, error) {
	refuseBeforeTLS := x.s.opts.StartTLS == config.StartTLSOnly && !x.c.TLS
	switch cmd.verb {
	case "USER":
		if refuseBeforeTLS || len(cmd.args) != 1 {
			return nil, x.refuse()
		}
		x.user = string(cmd.args[0])
		x.state = stateUser
		return nil, x.write([]byte(okReply))
	case "CAPA":
		return nil, x.write(x.s.capabilities(x.c.TLS, true))
	case "APOP":
		if refuseBeforeTLS || len(cmd.args) != 2 || !x.s.apop {
			return nil, x.refuse()
		}
		// The digest is not checked here: the auth service does it.
		return x.authenticate(methodAPOP, string(cmd.args[0]), string(cmd.args[1]))
	case "AUTH":
		if refuseBeforeTLS {
			return nil, x.refuse()
		}
		if len(cmd.args) == 0 {
			return nil, x.write(x.s.authList)
		}
		return x.auth(cmd.args)
	case "QUIT":
		if err := x.write([]byte(okReply)); err != nil {
			return nil, err
		}
		return nil, session.ErrClosed
	case "NOOP":
		return nil, x.write([]byte(okReply))
	case "STLS":
		if x.s.opts.StartTLS == config.StartTLSOff || x.c.TLS {
			return nil, x.refuse()
		}
		return nil, x.stls()
	}
	return nil, x.refuse() // PASS without USER
}

// afterUser runs a command in state "user" (SPEC §5.4): anything but
// PASS, CAPA, QUIT and NOOP is refused and forgets the user.
func (x *conn) afterUser(cmd command) (*session.Login, error) {
	switch cmd.verb {
	case "PASS":
		if len(cmd.args) != 1 {
			return nil, x.refuse()
		}
		return x.authenticate(methodPlain, x.user, string(cmd.args[0]))
	case "CAPA":
		return nil, x.write(x.s.capabilities(x.c.TLS, false))
	case "QUIT":
		if err := x.write([]byte(okReply)); err != nil {
			return nil, err
		}
		return nil, session.ErrClosed
	case "NOOP":
		return nil, x.write([]byte(okReply))
	}
	return nil, x.refuse()
}

// stls answers +OK in clear, discards every buffered plaintext byte
// (command injection, SPEC §8.2) and runs the handshake under the running
// pre-auth deadline. No new greeting follows.
func (x *conn) stls() error {
	if err := x.write([]byte(okReply)); err != nil {
		return err
	}
	x.pos, x.last = 0, 0
	if x.c.StartTLS == nil {
		return errors.New("pop3: STLS without a TLS configuration")
	}
	if err := x.c.StartTLS(x.deadline); err != nil {
		return err
	}
	x.c.Conn.SetReadDeadline(x.deadline)
	return nil
}
