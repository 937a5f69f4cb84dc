package pop3

import (
	"mailproxy/authhttp"
	"mailproxy/internal/sasl"
	"mailproxy/internal/session"
)

// state is nginx's mail_state of a POP3 session.
type state int

const (
	stateStart state = iota // ngx_pop3_start
	stateUser               // after USER: PASS expected
	stateSASL               // an AUTH exchange awaits a response line
)

// core is the state of one pre-auth dialogue (a session.Core).
type core struct {
	s     *Server
	c     *session.Conn
	salt  string // the greeting salt; "" unless apop or cram-md5 is enabled
	state state
	user  string         // USER argument
	ex    *sasl.Exchange // the running AUTH exchange (stateSASL)
	// method is the Auth-Method of the last login.
	method string
}

func (x *core) Greeting() []byte {
	if x.salt == "" {
		return []byte(greeting)
	}
	return []byte(greetingPrefix + x.salt + "\r\n")
}

func (x *core) TLSStarted() []byte { return nil }

// Next parses and runs one buffered line at a time (pipelining, SPEC
// §3.2).
func (x *core) Next(in []byte) (int, session.Action) {
	cmd, st := parseCommand(in, x.state == stateSASL)
	switch st {
	case parseAgain:
		return 0, session.Action{Do: session.NeedMore}
	case parseInvalid:
		x.state, x.ex = stateStart, nil
		return cmd.n, session.Action{Reply: []byte(invalidCommand), Counted: true}
	}
	switch x.state {
	case stateStart:
		return cmd.n, x.start(cmd)
	case stateUser:
		return cmd.n, x.afterUser(cmd)
	}
	return cmd.n, x.saslResponse(cmd)
}

// TooLong: a line that does not fit the 128-byte buffer is answered and
// ends the session; it is not counted for max_errors (SPEC §3.3).
func (x *core) TooLong([]byte) session.Action {
	x.c.Log.Info("client sent too long command")
	return session.Action{Reply: []byte(invalidCommand), Do: session.End, Err: session.ErrTooLong}
}

// refuse answers a line a command handler rejects: "-ERR invalid
// command", back to state "start", not counted for max_errors.
func (x *core) refuse() session.Action {
	x.state, x.ex = stateStart, nil
	return send(invalidCommand)
}

func send(s string) session.Action { return session.Action{Reply: []byte(s)} }

var quit = session.Action{Reply: []byte(okReply), Do: session.End, Err: session.ErrClosed}

// start runs a command in state "start" (SPEC §5.3).
func (x *core) start(cmd command) session.Action {
	refuseBeforeTLS := x.s.opts.StartTLS == session.StartTLSOnly && !x.c.TLS
	switch cmd.verb {
	case "USER":
		if refuseBeforeTLS || len(cmd.args) != 1 {
			return x.refuse()
		}
		x.user = string(cmd.args[0])
		x.state = stateUser
		return send(okReply)
	case "CAPA":
		return session.Action{Reply: x.s.capabilities(x.c.TLS, true)}
	case "APOP":
		if refuseBeforeTLS || len(cmd.args) != 2 || !x.s.apop {
			return x.refuse()
		}
		// The digest is not checked here: the auth service does it.
		return x.login(sasl.Credentials{Method: authhttp.MethodAPOP, User: string(cmd.args[0]), Pass: string(cmd.args[1]), Salt: x.salt})
	case "AUTH":
		if refuseBeforeTLS {
			return x.refuse()
		}
		if len(cmd.args) == 0 {
			return session.Action{Reply: x.s.authList}
		}
		return x.auth(cmd.args)
	case "QUIT":
		return quit
	case "NOOP":
		return send(okReply)
	case "STLS":
		if x.s.opts.StartTLS == session.StartTLSOff || x.c.TLS {
			return x.refuse()
		}
		// No new greeting follows the handshake.
		return session.Action{Reply: []byte(okReply), Do: session.UpgradeTLS}
	}
	return x.refuse() // PASS without USER
}

// afterUser runs a command in state "user" (SPEC §5.4): anything but
// PASS, CAPA, QUIT and NOOP is refused and forgets the user.
func (x *core) afterUser(cmd command) session.Action {
	switch cmd.verb {
	case "PASS":
		if len(cmd.args) != 1 {
			return x.refuse()
		}
		return x.login(sasl.Credentials{Method: authhttp.MethodPlain, User: x.user, Pass: string(cmd.args[0])})
	case "CAPA":
		return session.Action{Reply: x.s.capabilities(x.c.TLS, false)}
	case "QUIT":
		return quit
	case "NOOP":
		return send(okReply)
	}
	return x.refuse()
}

// auth runs "AUTH mech [initial-response]" (SPEC §7). PLAIN and LOGIN are
// always accepted; CRAM-MD5 (no initial response; its challenge is the
// greeting's salt, SPEC §5.1) and EXTERNAL only when enabled in
// pop3_auth.
func (x *core) auth(args [][]byte) session.Action {
	if len(args) > 2 {
		return x.refuse()
	}
	var ir []byte
	if len(args) == 2 {
		ir = args[1]
	}
	ex, st := sasl.Start(x.s.mechs, args[0], ir, len(args) == 2, func() string { return x.salt })
	x.ex = ex
	return x.saslStep(st)
}

// saslResponse handles a SASL response line: its first space-separated
// token (possibly empty) is the base64 blob.
func (x *core) saslResponse(cmd command) session.Action {
	if len(cmd.args) == 0 {
		return x.refuse()
	}
	return x.saslStep(x.ex.RespondLine(cmd.args[0], len(cmd.args) > 1))
}

// saslStep acts on where the exchange stands. A bad blob (including a
// client's "*" cancel) abandons the exchange with "-ERR invalid command".
func (x *core) saslStep(st sasl.Step) session.Action {
	switch {
	case st.Err != nil:
		if st.Err != sasl.ErrMechanism {
			x.c.Log.Info("client sent " + st.Err.Error())
		}
		return x.refuse()
	case st.Done:
		return x.login(st.Creds)
	case st.Ack:
		x.state, x.ex = stateStart, nil
		return session.Action{Do: session.Refuse}
	}
	x.state = stateSASL
	return send("+ " + st.Challenge + "\r\n")
}

// login asks the auth service about one set of credentials. Whatever the
// verdict, the session is back in state "start" (USER and SASL state
// forgotten). The salt goes with apop and cram-md5 only (HEAD behaviour,
// SPEC §14).
func (x *core) login(cr sasl.Credentials) session.Action {
	x.state, x.ex, x.method = stateStart, nil, cr.Method
	return session.Action{Do: session.Authenticate, Auth: &authhttp.Request{
		Method:   cr.Method,
		User:     cr.User,
		Pass:     cr.Pass,
		Salt:     cr.Salt,
		Protocol: "pop3",
	}}
}

func (x *core) Refused(resp *authhttp.Response) []byte {
	return []byte("-ERR " + resp.Text + "\r\n")
}

// SASLError sends the auth service's Auth-Error-SASL text as a "+ "
// challenge; the next line is the answer to it.
func (x *core) SASLError(text string) []byte {
	if x.ex = sasl.AfterError(x.method); x.ex == nil {
		return nil
	}
	x.state = stateSASL
	return []byte("+ " + text + "\r\n")
}

func (x *core) Accepted(l *session.Login, resp *authhttp.Response) {
	b := backendLogin{}
	if x.s.opts.Forward || resp.BackendMethod != "" {
		b.more = &loginExtras{method: resp.BackendMethod}
		if x.s.opts.Forward {
			b.more.xclient = xclientLine(x.c)
		}
	}
	l.Handover = b
}
