package smtp

import (
	"fmt"
	"time"

	"mailproxy/authhttp"
	"mailproxy/internal/sasl"
	"mailproxy/internal/session"
)

// auth runs the AUTH command (SPEC §7): args[0] is the mechanism, args[1]
// the optional initial response. PLAIN and LOGIN are always accepted;
// CRAM-MD5 (never with an initial response) and EXTERNAL only when
// enabled in smtp_auth. Every refusal is "500 5.5.1 Invalid command", not
// counted for max_errors.
func (x *conn) auth(args [][]byte) (*session.Login, error) {
	mech := args[0]
	switch {
	case sasl.EqualFold(mech, sasl.Login):
		switch len(args) {
		case 1:
			x.state = stLoginUsername
			return nil, x.reply(replyUsername)
		case 2:
			return nil, x.loginUser(args[1])
		}
	case sasl.EqualFold(mech, sasl.Plain):
		switch len(args) {
		case 1:
			x.state = stPlain
			return nil, x.reply(replyNext)
		case 2:
			return x.plain(args[1])
		}
	case sasl.EqualFold(mech, sasl.CRAMMD5):
		if len(args) != 1 || !x.s.cramMD5 {
			break
		}
		if x.salt == "" {
			x.salt = sasl.NewSalt(x.s.opts.ServerName)
		}
		x.state = stCRAMMD5
		return nil, x.reply("334 " + sasl.Encode([]byte(x.salt)) + "\r\n")
	case sasl.EqualFold(mech, sasl.External):
		if !x.s.external {
			break
		}
		switch len(args) {
		case 1:
			x.state = stExternal
			return nil, x.reply(replyUsername)
		case 2:
			return x.externalUser(args[1])
		}
	}
	return nil, x.reply(replyInvalidCommand)
}

// saslStep handles one response line of a running exchange; arg is its
// first space-separated token.
func (x *conn) saslStep(arg []byte) (*session.Login, error) {
	st := x.state
	x.state = stStart
	switch st {
	case stLoginUsername:
		return nil, x.loginUser(arg)
	case stLoginPassword:
		pass, err := sasl.Decode(arg)
		if err != nil {
			return nil, x.badBase64(sasl.Login)
		}
		return x.authenticate(authhttp.MethodPlain, x.user, string(pass))
	case stPlain:
		return x.plain(arg)
	case stCRAMMD5:
		dec, err := sasl.Decode(arg)
		if err != nil {
			return nil, x.badBase64(sasl.CRAMMD5)
		}
		user, digest, err := sasl.SplitCRAM(dec)
		if err != nil {
			x.c.Log.Info("client sent " + err.Error())
			return nil, x.reply(replyInvalidCommand)
		}
		return x.authenticate(authhttp.MethodCRAMMD5, user, digest)
	case stExternal:
		return x.externalUser(arg)
	}
	return nil, fmt.Errorf("smtp: bad SASL state %d", st)
}

// loginUser takes the AUTH LOGIN user name and asks for the password.
func (x *conn) loginUser(b64 []byte) error {
	user, err := sasl.Decode(b64)
	if err != nil {
		return x.badBase64(sasl.Login)
	}
	x.user = string(user)
	x.state = stLoginPassword
	return x.reply(replyPassword)
}

// plain decodes a PLAIN response (the authzid is dropped) and
// authenticates.
func (x *conn) plain(b64 []byte) (*session.Login, error) {
	dec, err := sasl.Decode(b64)
	if err != nil {
		return nil, x.badBase64(sasl.Plain)
	}
	user, pass, err := sasl.SplitPlain(dec)
	if err != nil {
		x.c.Log.Info("client sent " + err.Error())
		return nil, x.reply(replyInvalidCommand)
	}
	return x.authenticate(authhttp.MethodPlain, user, pass)
}

// externalUser decodes the EXTERNAL user name and authenticates without a
// password (none from an earlier attempt either).
func (x *conn) externalUser(b64 []byte) (*session.Login, error) {
	user, err := sasl.Decode(b64)
	if err != nil {
		return nil, x.badBase64(sasl.External)
	}
	return x.authenticate(authhttp.MethodExternal, string(user), "")
}

// badBase64 logs nginx's decode error for mech and refuses the exchange.
func (x *conn) badBase64(mech string) error {
	x.state = stStart
	x.c.Log.Info("client sent invalid base64 encoding in AUTH " + mech + " command")
	return x.reply(replyInvalidCommand)
}

// authenticate sends one set of credentials to the auth service and acts
// on the verdict (SPEC §10.3, §10.4): a login; a failure "CODE TEXT"
// (Auth-Error-Code, else 535 5.7.0) that after a positive Auth-Wait keeps
// the session, and otherwise ends it. Method none carries the stored
// HELO, MAIL and RCPT and never a user or password (nginx HEAD forgets
// those of an earlier failed AUTH).
func (x *conn) authenticate(method, user, pass string) (*session.Login, error) {
	x.attempt++
	x.state = stStart
	req := &authhttp.Request{
		Method:       method,
		User:         user,
		Pass:         pass,
		Protocol:     "smtp",
		LoginAttempt: x.attempt,
		ClientHost:   x.host,
	}
	switch method {
	case authhttp.MethodCRAMMD5:
		req.Salt = x.salt
	case authhttp.MethodNone:
		req.SMTPHelo, req.SMTPFrom, req.SMTPTo = x.helo, x.from, x.to
	}
	x.c.Conn.SetReadDeadline(time.Time{})
	resp, err := x.c.Authenticate(x.ctx, req)
	if err != nil {
		x.write(InternalError)
		return nil, err
	}
	switch resp.Status {
	case authhttp.StatusOK:
		if method == authhttp.MethodCRAMMD5 {
			pass = "" // nginx forgets the digest once the request is built
		}
		l := session.NewLogin(resp, user, pass)
		l.Pipelined = append([]byte(nil), x.buf[x.pos:x.last]...)
		l.Helo, l.ESMTP, l.Method = x.helo, x.esmtp, method
		l.ClientHost, l.Client = x.host, x.c.Client
		if method == authhttp.MethodNone {
			l.MailFrom, l.RcptTo = x.from, x.to
		}
		return l, nil
	case authhttp.StatusFail:
		code := resp.ErrorCode
		if code == "" {
			code = authhttp.DefaultSMTPErrorCode
		}
		line := []byte(code + " " + resp.Text + "\r\n")
		if err := x.c.Refused(x.ctx, resp, user, line, x.write); err != nil {
			return nil, err
		}
		x.arm()
		return nil, nil
	}
	x.write(InternalError)
	return nil, fmt.Errorf("smtp: unexpected auth status %d", resp.Status)
}
