package smtp

import (
	"fmt"

	"mailproxy/authhttp"
	"mailproxy/internal/sasl"
	"mailproxy/internal/session"
)

// core is the state of one pre-auth dialogue (a session.Core).
type core struct {
	s     *Server
	c     *session.Conn
	salt  string         // CRAM-MD5 salt, made on first use
	host  string         // Client-Host / XCLIENT NAME=
	helo  string         // HELO/EHLO argument; cleared by STARTTLS
	esmtp bool           // the client used EHLO at some point
	from  string         // MAIL command as typed (smtp_auth none)
	to    string         // RCPT command as typed
	ex    *sasl.Exchange // SASL exchange in progress
	last  *authhttp.Request
	skip  int64 // bytes of a refused BDAT chunk still to discard
}

func (x *core) Greeting() []byte { return x.s.greeting }

func (x *core) TLSStarted() []byte { return nil }

// Next parses and runs one buffered line (SPEC §6.4): a SASL response
// while an exchange is running, a command otherwise. Replies of handlers
// are never counted for max_errors; parser errors are, and nginx answers
// a bad line once its LF is in.
func (x *core) Next(in []byte) (int, session.Action) {
	if x.skip > 0 {
		return x.skipChunk(in)
	}
	if x.s.chunking && x.ex == nil {
		if n, a, ok := x.bdat(in); ok {
			return n, a
		}
	}
	cmd, st := parseCommand(in, x.ex != nil)
	switch {
	case st == parseAgain, st == parseInvalid && cmd.lineEnd < 0:
		return 0, session.Action{Do: session.NeedMore}
	case st == parseInvalid:
		x.ex = nil
		return cmd.lineEnd, session.Action{Reply: []byte(replyInvalidCommand), Counted: true}
	}
	if x.ex != nil {
		return cmd.n, x.saslStep(x.ex.RespondLine(cmd.args[0], len(cmd.args) > 1))
	}
	return cmd.n, x.handle(cmd)
}

// TooLong answers a line that does not fit smtp_client_buffer; the
// session ends.
func (x *core) TooLong([]byte) session.Action {
	x.c.Log.Info("client sent too long command")
	return session.Action{Reply: []byte(replyInvalidCommand), Do: session.End, Err: session.ErrTooLong}
}

func send(s string) session.Action { return session.Action{Reply: []byte(s)} }

// handle runs one command.
func (x *core) handle(cmd command) session.Action {
	switch cmd.verb {
	case "HELO", "EHLO":
		return x.hello(cmd)
	case "AUTH":
		if x.s.opts.StartTLS == session.StartTLSOnly && !x.c.TLS {
			return send(replyInvalidCommand)
		}
		if len(cmd.args) == 0 {
			return send(replyInvalidArgument)
		}
		return x.auth(cmd.args)
	case "QUIT":
		return session.Action{Reply: []byte(replyBye), Do: session.End, Err: session.ErrClosed}
	case "MAIL":
		return x.mail(cmd)
	case "RCPT":
		return x.rcpt(cmd)
	case "RSET":
		x.from, x.to = "", ""
		return send(replyOK)
	case "NOOP":
		return send(replyOK)
	case "STARTTLS":
		if x.s.opts.StartTLS == session.StartTLSOff || x.c.TLS {
			return send(replyInvalidCommand)
		}
		// The HELO name, MAIL and RCPT are forgotten with the buffered
		// plaintext (CVE-2014-3556, SPEC §8.2); no new greeting follows.
		x.helo, x.from, x.to = "", "", ""
		return session.Action{Reply: []byte(replyStartTLS), Do: session.UpgradeTLS}
	case "VRFY", "EXPN", "HELP":
		return send(replyInvalidCommand)
	}
	return session.Action{Do: session.End, Err: fmt.Errorf("smtp: unhandled verb %q", cmd.verb)}
}

// hello is HELO/EHLO: exactly one argument, stored as the client's name;
// the stored MAIL and RCPT are forgotten. EHLO marks the session ESMTP for
// good. A control byte in the name (NUL, 0x01–0x1F, DEL) is refused as
// an invalid argument so that it never reaches the auth request
// (Auth-SMTP-Helo) or a backend command.
func (x *core) hello(cmd command) session.Action {
	if len(cmd.args) != 1 || hasControl(cmd.args[0]) {
		return send(replyInvalidArgument)
	}
	x.helo = string(cmd.args[0])
	x.from, x.to = "", ""
	if cmd.verb == "HELO" {
		return session.Action{Reply: x.s.helo}
	}
	x.esmtp = true
	return session.Action{Reply: x.s.ehlo(x.c.TLS)}
}

// mail stores the MAIL command as typed under `smtp_auth none` (SPEC
// §6.6); without none it is refused and logged. starttls only does not
// apply here, as in nginx.
func (x *core) mail(cmd command) session.Action {
	if !x.s.none {
		x.c.Log.Info("client was rejected", "command", underscore(cmd.text))
		return send(replyAuthRequired)
	}
	if x.from != "" {
		return send(replyBadSequence)
	}
	if len(cmd.args) == 0 || hasControl(cmd.text) {
		return send(replyInvalidArgument)
	}
	x.from = string(cmd.text)
	return send(replyOK)
}

// rcpt stores the RCPT command as typed and starts authentication with
// method none; nginx does not answer it: the backend's reply to the
// replayed RCPT will (SPEC §6.6, §11.5).
func (x *core) rcpt(cmd command) session.Action {
	if x.from == "" {
		return send(replyBadSequence)
	}
	if len(cmd.args) == 0 || hasControl(cmd.text) {
		return send(replyInvalidArgument)
	}
	x.to = string(cmd.text)
	return x.login(sasl.Credentials{Method: authhttp.MethodNone})
}

// hasControl reports whether b holds a control byte: 0x00–0x1F (TAB
// included) or DEL. Such bytes reach the auth service verbatim in
// Auth-SMTP-Helo/From/To, where a strict HTTP server refuses the whole
// request; nginx refuses only NUL.
func hasControl(b []byte) bool {
	for _, c := range b {
		if c < 0x20 || c == 0x7f {
			return true
		}
	}
	return false
}

// auth runs the AUTH command (SPEC §7): args[0] is the mechanism, args[1]
// the optional initial response. PLAIN and LOGIN are always accepted;
// CRAM-MD5 (never with an initial response) and EXTERNAL only when
// enabled in smtp_auth. Every refusal is "500 5.5.1 Invalid command", not
// counted for max_errors.
func (x *core) auth(args [][]byte) session.Action {
	if len(args) > 2 {
		return send(replyInvalidCommand)
	}
	var ir []byte
	if len(args) == 2 {
		ir = args[1]
	}
	ex, st := sasl.Start(x.s.mechs, args[0], ir, len(args) == 2, x.cramSalt)
	x.ex = ex
	return x.saslStep(st)
}

func (x *core) cramSalt() string {
	if x.salt == "" {
		x.salt = sasl.NewSalt(x.s.opts.ServerName)
	}
	return x.salt
}

// saslStep acts on where the exchange stands: a challenge is "334 …".
func (x *core) saslStep(st sasl.Step) session.Action {
	switch {
	case st.Err != nil:
		x.ex = nil
		if st.Err != sasl.ErrMechanism {
			x.c.Log.Info("client sent " + st.Err.Error())
		}
		return send(replyInvalidCommand)
	case st.Done:
		x.ex = nil
		return x.login(st.Creds)
	case st.Ack:
		x.ex = nil
		return session.Action{Do: session.Refuse}
	}
	return send("334 " + st.Challenge + "\r\n")
}

// login asks the auth service about one set of credentials (SPEC §10.3).
// Method none carries the stored HELO, MAIL and RCPT and never a user or
// password (nginx HEAD forgets those of an earlier failed AUTH).
func (x *core) login(cr sasl.Credentials) session.Action {
	req := &authhttp.Request{
		Method:     cr.Method,
		User:       cr.User,
		Pass:       cr.Pass,
		Salt:       cr.Salt,
		Protocol:   "smtp",
		ClientHost: x.host,
	}
	if cr.Method == authhttp.MethodNone {
		req.SMTPHelo, req.SMTPFrom, req.SMTPTo = x.helo, x.from, x.to
	}
	x.last = req
	return session.Action{Do: session.Authenticate, Auth: req}
}

// Refused is "CODE TEXT": Auth-Error-Code, else 535 5.7.0 (SPEC §10.4).
func (x *core) Refused(resp *authhttp.Response) []byte {
	code := resp.ErrorCode
	if code == "" {
		code = authhttp.DefaultSMTPErrorCode
	}
	return []byte(code + " " + resp.Text + "\r\n")
}

// SASLError sends the auth service's Auth-Error-SASL text as a "334 "
// challenge; the next line is the answer to it.
func (x *core) SASLError(text string) []byte {
	if x.ex = sasl.AfterError(x.last.Method); x.ex == nil {
		return nil
	}
	return []byte("334 " + text + "\r\n")
}

// Accepted hands over what the backend login replays (SPEC §11.4). nginx
// forgets a CRAM-MD5 digest once the request is built.
func (x *core) Accepted(l *session.Login, resp *authhttp.Response) {
	method := x.last.Method
	if method == authhttp.MethodCRAMMD5 && !resp.HasPass {
		l.Pass = ""
	}
	e := Envelope{Helo: x.helo, ESMTP: x.esmtp, Method: method, ClientHost: x.host, Client: x.c.Client, BackendMethod: resp.BackendMethod}
	if method == authhttp.MethodNone {
		e.MailFrom, e.RcptTo = x.from, x.to
	}
	l.Handover = x.s.Handover(e)
}
