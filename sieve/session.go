package sieve

import (
	"bytes"

	"mailproxy/authhttp"
	"mailproxy/internal/sasl"
	"mailproxy/internal/session"
)

// core is the state of one pre-login dialogue (a session.Core).
type core struct {
	s    *Server
	c    *session.Conn
	skip bool           // the rest of a bad line is being skipped
	ex   *sasl.Exchange // the running AUTHENTICATE exchange
	// method is the Auth-Method of the last login.
	method string
}

// Greeting is the capability listing and OK (RFC 5804 §1.7).
func (x *core) Greeting() []byte { return x.listing() }

// TLSStarted re-sends the capability listing (RFC 5804 §2.2).
func (x *core) TLSStarted() []byte { return x.listingWith(okTLS) }

func (x *core) listing() []byte { return x.listingWith(`OK "ManageSieve ready."` + "\r\n") }

func (x *core) listingWith(ok string) []byte {
	caps := x.s.capabilities(x.c.TLS)
	return append(append(make([]byte, 0, len(caps)+len(ok)), caps...), ok...)
}

func send(s string) session.Action { return session.Action{Reply: []byte(s)} }

// counted is a reply to a syntax error or an unknown command, counted
// for max_errors.
func counted(s string) session.Action { return session.Action{Reply: []byte(s), Counted: true} }

func (x *core) Next(in []byte) (int, session.Action) {
	if x.skip {
		i := bytes.IndexByte(in, '\n')
		if i < 0 {
			return len(in), session.Action{Do: session.NeedMore}
		}
		x.skip = false
		return i + 1, counted(noSyntax)
	}
	cmd, st := parseCommand(in, x.ex != nil)
	switch st {
	case parseAgain:
		return 0, session.Action{Do: session.NeedMore}
	case parseInvalid:
		x.ex = nil
		if cmd.lineEnd < 0 {
			x.skip = true
			return len(in), session.Action{Do: session.NeedMore}
		}
		return cmd.lineEnd, counted(noSyntax)
	}
	if x.ex != nil {
		return cmd.n, x.response(cmd)
	}
	return cmd.n, x.handle(cmd)
}

// TooLong ends a session whose command (with its literals) does not fit
// the client buffer.
func (x *core) TooLong([]byte) session.Action {
	x.c.Log.Info("client sent too long command")
	return session.Action{Reply: []byte(byeTooLong), Do: session.End, Err: session.ErrTooLong}
}

// handle runs one command (RFC 5804 §2).
func (x *core) handle(cmd command) session.Action {
	switch cmd.verb {
	case "CAPABILITY":
		if len(cmd.args) != 0 {
			return counted(noSyntax)
		}
		return session.Action{Reply: x.listingWith(okCapability)}
	case "NOOP":
		switch len(cmd.args) {
		case 0:
			return send(okNoop)
		case 1:
			return send("OK (TAG " + quote(string(cmd.args[0])) + ") \"Done\"\r\n")
		}
		return counted(noSyntax)
	case "LOGOUT":
		return session.Action{Reply: []byte(okLogout), Do: session.End, Err: session.ErrClosed}
	case "STARTTLS":
		if x.s.opts.StartTLS == session.StartTLSOff || x.c.TLS {
			return send(noStartTLS)
		}
		return session.Action{Reply: []byte(okStartTLS), Do: session.UpgradeTLS}
	case "AUTHENTICATE":
		if len(cmd.args) == 0 || len(cmd.args) > 2 || cmd.atoms[0] {
			return counted(noSyntax)
		}
		if x.s.opts.StartTLS == session.StartTLSOnly && !x.c.TLS {
			return send(noPlaintext)
		}
		return x.authenticate(cmd.args)
	case "HAVESPACE", "PUTSCRIPT", "LISTSCRIPTS", "SETACTIVE", "GETSCRIPT",
		"DELETESCRIPT", "RENAMESCRIPT", "CHECKSCRIPT", "UNAUTHENTICATE":
		return send(noLoginFirst)
	}
	return counted(noUnknown)
}

// authenticate starts AUTHENTICATE: args[0] is the mechanism, args[1] the
// optional initial response. PLAIN is always enabled; the others only
// when sieve_auth lists them (LOGIN too, unlike nginx's protocols).
func (x *core) authenticate(args [][]byte) session.Action {
	if sasl.EqualFold(args[0], sasl.Login) && !x.s.login {
		return send(noMechanism)
	}
	var ir []byte
	if len(args) == 2 {
		ir = args[1]
	}
	ex, st := sasl.Start(x.s.mechs, args[0], ir, len(args) == 2, nil)
	x.ex = ex
	return x.step(st)
}

// response takes a SASL response line: one string, or "*" to cancel.
func (x *core) response(cmd command) session.Action {
	if len(cmd.args) != 1 {
		x.ex = nil
		return send(noSASL)
	}
	if string(cmd.args[0]) == "*" {
		x.ex = nil
		return send(noAborted)
	}
	return x.step(x.ex.RespondLine(cmd.args[0], false))
}

// step acts on where the exchange stands: a challenge is sent as a
// quoted string.
func (x *core) step(st sasl.Step) session.Action {
	switch {
	case st.Err == sasl.ErrMechanism:
		x.ex = nil
		return send(noMechanism)
	case st.Err != nil:
		x.ex = nil
		x.c.Log.Info("client sent " + st.Err.Error())
		return send(noSASL)
	case st.Ack:
		x.ex = nil
		return session.Action{Do: session.Refuse}
	case st.Done:
		x.ex, x.method = nil, st.Creds.Method
		return session.Action{Do: session.Authenticate, Auth: &authhttp.Request{
			Method:   st.Creds.Method,
			User:     st.Creds.User,
			Pass:     st.Creds.Pass,
			Protocol: "sieve",
		}}
	}
	return send(`"` + st.Challenge + "\"\r\n")
}

// Refused is NO with the auth service's text.
func (x *core) Refused(resp *authhttp.Response) []byte {
	return []byte("NO " + quote(resp.Text) + "\r\n")
}

// SASLError sends the auth service's Auth-Error-SASL text as a challenge
// string (RFC 5804 §2.1); the next line is the answer to it.
func (x *core) SASLError(text string) []byte {
	if x.ex = sasl.AfterError(x.method); x.ex == nil {
		return nil
	}
	return []byte(quote(text) + "\r\n")
}

func (x *core) Accepted(l *session.Login, resp *authhttp.Response) {
	l.Handover = backendLogin{method: resp.BackendMethod}
}
