package pop3

import (
	"mailproxy/internal/sasl"
	"mailproxy/internal/session"
)

// auth runs "AUTH mech [initial-response]" (SPEC §7). PLAIN and LOGIN are
// always accepted; CRAM-MD5 (no initial response) and EXTERNAL only when
// enabled in pop3_auth. Every refusal is "-ERR invalid command", back to
// state "start", not counted for max_errors.
func (x *conn) auth(args [][]byte) (*session.Login, error) {
	mech, n := args[0], len(args)
	switch {
	case sasl.EqualFold(mech, sasl.Login):
		switch n {
		case 1:
			x.state = stateLoginUser
			return nil, x.write([]byte(usernameChallenge))
		case 2:
			return nil, x.loginUser(args[1])
		}
	case sasl.EqualFold(mech, sasl.Plain):
		switch n {
		case 1:
			x.state = statePlain
			return nil, x.write([]byte(plainChallenge))
		case 2:
			return x.plain(args[1])
		}
	case sasl.EqualFold(mech, sasl.CRAMMD5):
		if n == 1 && x.s.cramMD5 {
			// The challenge is the greeting's salt (SPEC §5.1).
			x.state = stateCRAM
			return nil, x.write([]byte("+ " + sasl.Encode([]byte(x.salt)) + "\r\n"))
		}
	case sasl.EqualFold(mech, sasl.External):
		if !x.s.external {
			break
		}
		switch n {
		case 1:
			x.state = stateExternal
			return nil, x.write([]byte(usernameChallenge))
		case 2:
			return x.externalUser(args[1])
		}
	}
	return nil, x.refuse()
}

// saslStep handles a SASL response line: its first space-separated token
// (possibly empty) is the base64 blob. A bad blob (including a client's
// "*" cancel) abandons the exchange with "-ERR invalid command".
func (x *conn) saslStep(cmd command) (*session.Login, error) {
	if len(cmd.args) == 0 {
		return nil, x.refuse()
	}
	blob := cmd.args[0]
	switch x.state {
	case stateLoginUser:
		return nil, x.loginUser(blob)
	case stateLoginPass:
		pass, err := sasl.Decode(blob)
		if err != nil {
			x.c.Log.Info("client sent invalid base64 encoding in AUTH LOGIN command")
			return nil, x.refuse()
		}
		return x.authenticate(methodPlain, x.user, string(pass))
	case statePlain:
		return x.plain(blob)
	case stateCRAM:
		dec, err := sasl.Decode(blob)
		if err != nil {
			x.c.Log.Info("client sent invalid base64 encoding in AUTH CRAM-MD5 command")
			return nil, x.refuse()
		}
		user, digest, err := sasl.SplitCRAM(dec)
		if err != nil {
			x.c.Log.Info("client sent " + err.Error())
			return nil, x.refuse()
		}
		return x.authenticate(methodCRAMMD5, user, digest)
	case stateExternal:
		return x.externalUser(blob)
	}
	return nil, x.refuse()
}

// loginUser takes the AUTH LOGIN user name and asks for the password.
func (x *conn) loginUser(blob []byte) error {
	user, err := sasl.Decode(blob)
	if err != nil {
		x.c.Log.Info("client sent invalid base64 encoding in AUTH LOGIN command")
		return x.refuse()
	}
	x.user = string(user)
	x.state = stateLoginPass
	return x.write([]byte(passwordChallenge))
}

// plain decodes and splits an AUTH PLAIN response and authenticates.
func (x *conn) plain(blob []byte) (*session.Login, error) {
	dec, err := sasl.Decode(blob)
	if err != nil {
		x.c.Log.Info("client sent invalid base64 encoding in AUTH PLAIN command")
		return nil, x.refuse()
	}
	user, pass, err := sasl.SplitPlain(dec)
	if err != nil {
		x.c.Log.Info("client sent " + err.Error())
		return nil, x.refuse()
	}
	return x.authenticate(methodPlain, user, pass)
}

// externalUser decodes the AUTH EXTERNAL user name and authenticates with
// no password (the stale-password quirk of SPEC §7 is not copied).
func (x *conn) externalUser(blob []byte) (*session.Login, error) {
	user, err := sasl.Decode(blob)
	if err != nil {
		x.c.Log.Info("client sent invalid base64 encoding in AUTH EXTERNAL command")
		return nil, x.refuse()
	}
	return x.authenticate(methodExternal, string(user), "")
}
