package imap

import (
	"bytes"
	"errors"
	"fmt"

	"mailproxy/authhttp"
	"mailproxy/internal/sasl"
	"mailproxy/internal/session"
)

// core is the state of one pre-auth dialogue (a session.Core).
type core struct {
	s        *Server
	c        *session.Conn
	contSent int            // literal offset whose "+ OK" was sent
	skip     *skip          // the rest of a bad line being skipped
	ex       *sasl.Exchange // the running AUTHENTICATE exchange
	tag      string         // tag of the running AUTHENTICATE or of the last login
	salt     string         // CRAM-MD5 salt, made on first use
	method   string         // Auth-Method of the last login
	// id is the client's last ID parameter list before login (nil: none
	// or NIL); STARTTLS forgets it.
	id []IDField
}

// skip is a bad line whose LF has not arrived yet: its reply waits for it.
type skip struct {
	tag    []byte
	hasTag bool
	tail   []byte // the last two bytes of the line so far
}

func (x *core) Greeting() []byte { return []byte(greeting) }

func (x *core) TLSStarted() []byte { return nil }

func (x *core) Next(in []byte) (int, session.Action) {
	switch {
	case x.skip != nil:
		return x.skipLine(in)
	case x.ex != nil:
		return x.saslResponse(in)
	}
	cmd, st := parseCommandWith(in, x.contSent, x.s.answerID)
	switch st {
	case parseCont:
		x.contSent = cmd.contAt
		return 0, session.Action{Reply: []byte(contOK)}
	case parseAgain:
		return 0, session.Action{Do: session.NeedMore}
	case parseInvalid:
		sk := &skip{tag: append([]byte(nil), cmd.tag...), hasTag: cmd.hasTag}
		if cmd.lineEnd < 0 {
			// Skip the rest of the bad line as it arrives.
			sk.tail = lastTwo(nil, in)
			x.skip = sk
			return len(in), session.Action{Do: session.NeedMore}
		}
		return cmd.lineEnd, x.badLine(sk, in[:cmd.lineEnd])
	}
	x.contSent = 0
	a := x.handle(cmd)
	a.Tag = cmd.tag
	return cmd.n, a
}

// TooLong answers a command (or a SASL response) that does not fit the
// buffer; the session ends.
func (x *core) TooLong(in []byte) session.Action {
	x.c.Log.Info("client sent too long command")
	reply := []byte("* " + badCommand)
	if x.ex != nil {
		reply = []byte(x.tag + " " + badCommand)
	} else if cmd, _ := parseCommand(in, x.contSent); cmd.hasTag {
		reply = tagged(cmd.tag, badCommand)
	}
	return session.Action{Reply: reply, Do: session.End, Err: session.ErrTooLong}
}

// skipLine consumes a bad line's bytes until its LF.
func (x *core) skipLine(in []byte) (int, session.Action) {
	i := bytes.IndexByte(in, '\n')
	if i < 0 {
		x.skip.tail = lastTwo(x.skip.tail, in)
		return len(in), session.Action{Do: session.NeedMore}
	}
	sk := x.skip
	x.skip = nil
	return i + 1, x.badLine(sk, in[:i+1])
}

// badLine answers a parser error once its line has fully arrived, counted
// for max_errors, and closes as nginx closes after a bad line ending in
// "+}" (non-synchronizing literal bytes would follow).
func (x *core) badLine(sk *skip, line []byte) session.Action {
	tail := lastTwo(sk.tail, bytes.TrimRight(line, "\r\n"))
	x.contSent = 0
	a := session.Action{Counted: true}
	if sk.hasTag {
		a.Reply = tagged(sk.tag, badCommand)
	} else {
		a.Reply = []byte("* " + badCommand)
	}
	if bytes.Equal(tail, []byte("+}")) {
		a.Do, a.Err = session.End, session.ErrClosed
	}
	return a
}

// lastTwo keeps the last two bytes of the bad line seen so far.
func lastTwo(tail, more []byte) []byte {
	t := append(append([]byte(nil), tail...), more...)
	if len(t) > 2 {
		t = t[len(t)-2:]
	}
	return t
}

// tagged is "<tag> <text>".
func tagged(tag []byte, text string) []byte {
	b := make([]byte, 0, len(tag)+1+len(text))
	return append(append(append(b, tag...), ' '), text...)
}

func reply(tag, text string) session.Action {
	return session.Action{Reply: []byte(tag + " " + text)}
}

// handle runs one complete command.
func (x *core) handle(cmd command) session.Action {
	tag := string(cmd.tag)
	refuseBeforeTLS := x.s.opts.StartTLS == session.StartTLSOnly && !x.c.TLS
	switch cmd.verb {
	case "NOOP":
		return reply(tag, okCompleted)
	case "CAPABILITY":
		caps := x.s.capabilities(x.c.TLS)
		return session.Action{Reply: append(append([]byte(nil), caps...), tag+" "+okCompleted...)}
	case "LOGOUT":
		return session.Action{Reply: []byte(bye + tag + " " + okCompleted), Do: session.End, Err: session.ErrClosed}
	case "STARTTLS":
		if x.s.opts.StartTLS == session.StartTLSOff || x.c.TLS {
			return reply(tag, badCommand)
		}
		// No new greeting follows the handshake; what the client said
		// in plaintext is forgotten.
		x.id = nil
		return session.Action{Reply: []byte(tag + " " + okCompleted), Do: session.UpgradeTLS}
	case "ID":
		// RFC 2971, answered only when configured (nginx says BAD).
		x.id = cmd.id
		return session.Action{Reply: append(append([]byte(nil), x.s.idReply...), tag+" "+okCompleted...)}
	case "LOGIN":
		if refuseBeforeTLS || len(cmd.args) != 2 || len(cmd.args[0]) == 0 {
			return reply(tag, badCommand)
		}
		return x.login(tag, sasl.Credentials{Method: authhttp.MethodPlain, User: string(cmd.args[0]), Pass: string(cmd.args[1])})
	case "AUTHENTICATE":
		if refuseBeforeTLS || len(cmd.args) == 0 {
			return reply(tag, badCommand)
		}
		return x.authenticate(tag, cmd.args)
	}
	return session.Action{Do: session.End, Err: fmt.Errorf("imap: unhandled verb %q", cmd.verb)}
}

// authenticate starts AUTHENTICATE (SPEC §7): args[0] is the mechanism,
// args[1] the optional initial response.
func (x *core) authenticate(tag string, args [][]byte) session.Action {
	if len(args) > 2 {
		return reply(tag, badCommand)
	}
	var ir []byte
	if len(args) == 2 {
		ir = args[1]
	}
	ex, st := sasl.Start(x.s.mechs, args[0], ir, len(args) == 2, x.cramSalt)
	x.ex, x.tag = ex, tag
	return x.saslStep(st)
}

func (x *core) cramSalt() string {
	if x.salt == "" {
		x.salt = sasl.NewSalt(x.s.opts.ServerName)
	}
	return x.salt
}

// saslResponse takes one SASL response line: its first space-separated
// token after leading spaces.
func (x *core) saslResponse(in []byte) (int, session.Action) {
	i := bytes.IndexByte(in, '\n')
	if i < 0 {
		return 0, session.Action{Do: session.NeedMoreCompact}
	}
	line := bytes.TrimLeft(bytes.TrimSuffix(in[:i], []byte("\r")), " ")
	more := false
	if j := bytes.IndexByte(line, ' '); j >= 0 {
		more = len(bytes.TrimLeft(line[j:], " ")) > 0
		line = line[:j]
	}
	tag := x.tag
	a := x.saslStep(x.ex.RespondLine(line, more))
	a.Tag = []byte(tag)
	return i + 1, a
}

// saslStep acts on where the exchange stands. A refused exchange is
// answered "<tag> BAD invalid command" (bare "BAD invalid command" after
// a bad LOGIN user name, as nginx does) and is not counted for
// max_errors.
func (x *core) saslStep(st sasl.Step) session.Action {
	switch {
	case st.Err != nil:
		x.ex = nil
		if st.Err != sasl.ErrMechanism {
			x.c.Log.Info("client sent " + st.Err.Error())
		}
		var de *sasl.DecodeError
		if errors.As(st.Err, &de) && de.Mech == sasl.Login && de.Challenged && de.User {
			return session.Action{Reply: []byte(badCommand)}
		}
		return reply(x.tag, badCommand)
	case st.Done:
		x.ex = nil
		return x.login(x.tag, st.Creds)
	case st.Ack:
		x.ex = nil
		return session.Action{Do: session.Refuse}
	}
	return session.Action{Reply: []byte("+ " + st.Challenge + "\r\n")}
}

// login asks the auth service about one set of credentials.
func (x *core) login(tag string, cr sasl.Credentials) session.Action {
	x.tag, x.method = tag, cr.Method
	req := &authhttp.Request{
		Method:   cr.Method,
		User:     cr.User,
		Pass:     cr.Pass,
		Salt:     cr.Salt,
		Protocol: "imap",
	}
	if x.s.opts.PassID && x.id != nil {
		req.IMAPID = formatID(x.id)
	}
	req.OriginatingIP = originatingIP(x.id)
	return session.Action{Do: session.Authenticate, Auth: req}
}

func (x *core) Refused(resp *authhttp.Response) []byte {
	return []byte(x.tag + " NO " + resp.Text + "\r\n")
}

// SASLError sends the auth service's Auth-Error-SASL text as a "+ "
// continuation of the refused AUTHENTICATE, whose tag the failure reply
// keeps.
func (x *core) SASLError(text string) []byte {
	if x.ex = sasl.AfterError(x.method); x.ex == nil {
		return nil
	}
	return []byte("+ " + text + "\r\n")
}

func (x *core) Accepted(l *session.Login, resp *authhttp.Response) {
	b := backendLogin{tag: x.tag}
	if x.s.opts.Forward || resp.BackendMethod != "" {
		b.more = &loginExtras{method: resp.BackendMethod}
		if x.s.opts.Forward {
			b.more.id = forwardID(x.id, x.c)
		}
	}
	l.Handover = b
}
