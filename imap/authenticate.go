package imap

import (
	"bytes"
	"strings"

	"mailproxy/authhttp"
	"mailproxy/internal/sasl"
	"mailproxy/internal/session"
)

// sasl runs AUTHENTICATE (SPEC §7). args[0] is the mechanism, args[1] the
// optional initial response. A refused exchange is answered "<tag> BAD
// invalid command" (untagged after a bad LOGIN user name, as nginx does)
// and is not counted for max_errors.
func (x *conn) sasl(tag string, args [][]byte) (*session.Login, error) {
	mech := strings.ToUpper(string(args[0]))
	var ir []byte
	hasIR := len(args) == 2
	if hasIR {
		ir = append([]byte(nil), args[1]...)
	}
	bad := func() (*session.Login, error) { return nil, x.tagged(tag, badCommand) }
	if len(args) > 2 {
		return bad()
	}
	switch mech {
	case sasl.Plain:
		if !hasIR {
			var err error
			if ir, err = x.challenge(tag, ""); err != nil {
				return nil, err
			}
		}
		dec, err := sasl.Decode(ir)
		if err != nil {
			x.c.Log.Info("client sent invalid base64 encoding in AUTH PLAIN command")
			return bad()
		}
		user, pass, err := sasl.SplitPlain(dec)
		if err != nil {
			x.c.Log.Info("client sent " + err.Error())
			return bad()
		}
		return x.authenticate(tag, authhttp.MethodPlain, user, pass)

	case sasl.Login:
		if !hasIR {
			var err error
			if ir, err = x.challenge(tag, sasl.UsernameChallenge); err != nil {
				return nil, err
			}
		}
		user, err := sasl.Decode(ir)
		if err != nil {
			x.c.Log.Info("client sent invalid base64 encoding in AUTH LOGIN command")
			if hasIR {
				return bad()
			}
			return nil, x.write([]byte(badCommand)) // nginx's untagged quirk
		}
		line, err := x.challenge(tag, sasl.PasswordChallenge)
		if err != nil {
			return nil, err
		}
		pass, err := sasl.Decode(line)
		if err != nil {
			x.c.Log.Info("client sent invalid base64 encoding in AUTH LOGIN command")
			return bad()
		}
		return x.authenticate(tag, authhttp.MethodPlain, string(user), string(pass))

	case sasl.CRAMMD5:
		if !x.s.cramMD5 || hasIR {
			return bad()
		}
		if x.salt == "" {
			x.salt = sasl.NewSalt(x.s.opts.ServerName)
		}
		line, err := x.challenge(tag, sasl.Encode([]byte(x.salt)))
		if err != nil {
			return nil, err
		}
		dec, err := sasl.Decode(line)
		if err != nil {
			x.c.Log.Info("client sent invalid base64 encoding in AUTH CRAM-MD5 command")
			return bad()
		}
		user, digest, err := sasl.SplitCRAM(dec)
		if err != nil {
			x.c.Log.Info("client sent " + err.Error())
			return bad()
		}
		return x.authenticate(tag, authhttp.MethodCRAMMD5, user, digest)

	case sasl.External:
		if !x.s.external {
			return bad()
		}
		if !hasIR {
			var err error
			if ir, err = x.challenge(tag, sasl.UsernameChallenge); err != nil {
				return nil, err
			}
		}
		user, err := sasl.Decode(ir)
		if err != nil {
			x.c.Log.Info("client sent invalid base64 encoding in AUTH EXTERNAL command")
			return bad()
		}
		return x.authenticate(tag, authhttp.MethodExternal, string(user), "")
	}
	return bad()
}

// challenge sends the untagged continuation "+ <text>" and returns the
// client's answer token.
func (x *conn) challenge(tag, text string) ([]byte, error) {
	if err := x.write([]byte("+ " + text + "\r\n")); err != nil {
		return nil, err
	}
	return x.readToken(tag)
}

// readToken reads one SASL response line and returns its first
// space-separated token (a copy). A line that does not fit the buffer ends
// the session like any too-long command.
func (x *conn) readToken(tag string) ([]byte, error) {
	for {
		if i := bytes.IndexByte(x.buf[x.pos:x.last], '\n'); i >= 0 {
			line := x.buf[x.pos : x.pos+i]
			x.pos += i + 1
			line = bytes.TrimSuffix(line, []byte("\r"))
			line = bytes.TrimLeft(line, " ")
			if j := bytes.IndexByte(line, ' '); j >= 0 {
				line = line[:j]
			}
			return append([]byte{}, line...), nil
		}
		if x.last == len(x.buf) && x.pos == 0 {
			x.c.Log.Info("client sent too long command")
			x.tagged(tag, badCommand)
			return nil, errTooLong
		}
		if x.last == len(x.buf) {
			// Move the partial line to the front: the buffer is not full
			// of unconsumed bytes, only of consumed ones.
			x.last = copy(x.buf, x.buf[x.pos:x.last])
			x.pos = 0
		}
		if err := x.fill(); err != nil {
			return nil, err
		}
	}
}
