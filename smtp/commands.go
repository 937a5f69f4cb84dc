package smtp

import (
	"bytes"
	"fmt"

	"mailproxy/authhttp"
	"mailproxy/config"
	"mailproxy/internal/session"
)

// handle runs one complete line: a SASL response while an exchange is
// running, a command otherwise (SPEC §6.4). It returns a login when the
// auth service accepted credentials. Replies of handlers are never counted
// for max_errors.
func (x *conn) handle(cmd command) (*session.Login, error) {
	if x.state != stStart {
		return x.saslStep(cmd.args[0])
	}
	switch cmd.verb {
	case "HELO", "EHLO":
		return nil, x.hello(cmd)
	case "AUTH":
		if x.s.opts.StartTLS == config.StartTLSOnly && !x.c.TLS {
			return nil, x.reply(replyInvalidCommand)
		}
		if len(cmd.args) == 0 {
			return nil, x.reply(replyInvalidArgument)
		}
		return x.auth(cmd.args)
	case "QUIT":
		if err := x.reply(replyBye); err != nil {
			return nil, err
		}
		return nil, session.ErrClosed
	case "MAIL":
		return nil, x.mail(cmd)
	case "RCPT":
		return x.rcpt(cmd)
	case "RSET":
		x.from, x.to = "", ""
		return nil, x.reply(replyOK)
	case "NOOP":
		return nil, x.reply(replyOK)
	case "STARTTLS":
		if x.s.opts.StartTLS == config.StartTLSOff || x.c.TLS {
			return nil, x.reply(replyInvalidCommand)
		}
		return nil, x.starttls()
	case "VRFY", "EXPN", "HELP":
		return nil, x.reply(replyInvalidCommand)
	}
	return nil, fmt.Errorf("smtp: unhandled verb %q", cmd.verb)
}

// hello is HELO/EHLO: exactly one argument, stored as the client's name;
// the stored MAIL and RCPT are forgotten. EHLO marks the session ESMTP for
// good. A NUL in the name is refused as an invalid argument so that it
// never reaches the auth request or a backend command.
func (x *conn) hello(cmd command) error {
	if len(cmd.args) != 1 || hasNUL(cmd.args[0]) {
		return x.reply(replyInvalidArgument)
	}
	x.helo = string(cmd.args[0])
	x.from, x.to = "", ""
	if cmd.verb == "HELO" {
		return x.write(x.s.helo)
	}
	x.esmtp = true
	return x.write(x.s.ehlo(x.c.TLS))
}

// mail stores the MAIL command as typed under `smtp_auth none` (SPEC
// §6.6); without none it is refused and logged. starttls only does not
// apply here, as in nginx.
func (x *conn) mail(cmd command) error {
	if !x.s.none {
		x.c.Log.Info("client was rejected", "command", underscore(cmd.text))
		return x.reply(replyAuthRequired)
	}
	if x.from != "" {
		return x.reply(replyBadSequence)
	}
	if len(cmd.args) == 0 || hasNUL(cmd.text) {
		return x.reply(replyInvalidArgument)
	}
	x.from = string(cmd.text)
	return x.reply(replyOK)
}

// rcpt stores the RCPT command as typed and starts authentication with
// method none; nginx does not answer it: the backend's reply to the
// replayed RCPT will (SPEC §6.6, §11.5).
func (x *conn) rcpt(cmd command) (*session.Login, error) {
	if x.from == "" {
		return nil, x.reply(replyBadSequence)
	}
	if len(cmd.args) == 0 || hasNUL(cmd.text) {
		return nil, x.reply(replyInvalidArgument)
	}
	x.to = string(cmd.text)
	return x.authenticate(authhttp.MethodNone, "", "")
}

// starttls answers in clear, forgets the HELO name, MAIL and RCPT and
// every buffered plaintext byte (CVE-2014-3556, SPEC §8.2), and runs the
// handshake under the running pre-auth deadline. No new greeting follows.
func (x *conn) starttls() error {
	if err := x.reply(replyStartTLS); err != nil {
		return err
	}
	x.helo, x.from, x.to = "", "", ""
	x.pos, x.last = 0, 0
	if err := x.c.StartTLS(x.deadline); err != nil {
		return err
	}
	x.c.Conn.SetReadDeadline(x.deadline)
	return nil
}

func hasNUL(b []byte) bool { return bytes.IndexByte(b, 0) >= 0 }
