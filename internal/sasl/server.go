package sasl

import (
	"errors"
	"strings"
)

// Auth-Method values (authhttp's Method… constants, which this package
// may not import) of the credentials an exchange yields.
const (
	MethodPlain    = "plain"
	MethodCRAMMD5  = "cram-md5"
	MethodExternal = "external"
)

// ErrMechanism reports a mechanism that is unknown, not enabled, or used
// in a form it does not allow (CRAM-MD5 with an initial response). nginx
// logs nothing for it.
var ErrMechanism = errors.New("unsupported SASL mechanism")

// DecodeError is a response that is not valid base64 (a client's "*"
// cancel included). Its text is nginx's log message tail.
type DecodeError struct {
	Mech string // the mechanism, upper case
	// Challenged is true when the bad response answered a challenge, false
	// for an initial response.
	Challenged bool
	// User is true when the response was LOGIN's user name.
	User bool
}

func (e *DecodeError) Error() string {
	return "invalid base64 encoding in AUTH " + e.Mech + " command"
}

// Mechanisms are the optional mechanisms a server enables; PLAIN and
// LOGIN are always accepted, as nginx accepts them.
type Mechanisms struct {
	CRAMMD5  bool
	External bool
}

// Credentials are what a finished exchange yields for the auth request.
type Credentials struct {
	Method string // Method… constant
	User   string
	Pass   string // the password, or the CRAM-MD5 digest; "" for EXTERNAL
	Salt   string // the CRAM-MD5 challenge's salt; "" otherwise
}

// Step is where an exchange stands after its last input: exactly one of
// Err (the exchange is over and refused; log "client sent "+Err unless it
// is ErrMechanism), Done (Creds hold the credentials) or a challenge to
// send (Challenge, base64 text, possibly empty) and wait for a response.
type Step struct {
	Challenge string
	Done      bool
	Creds     Credentials
	Err       error
}

// Exchange is one running SASL exchange, server side, without I/O: the
// protocol front end frames the challenges ("+ ", "334 ", a quoted
// string) and extracts the response token from the client's line.
type Exchange struct {
	mech string
	user []byte // LOGIN's user name once given
	salt string // CRAM-MD5
}

// Start begins an exchange for mech (matched case-insensitively) with an
// optional initial response ir (hasIR). salt returns the CRAM-MD5 salt
// (POP3 reuses its greeting's; IMAP and SMTP make one on first use); it is
// called only for CRAM-MD5.
func Start(m Mechanisms, mech []byte, ir []byte, hasIR bool, salt func() string) (*Exchange, Step) {
	e := &Exchange{}
	switch {
	case EqualFold(mech, Plain):
		e.mech = Plain
	case EqualFold(mech, Login):
		e.mech = Login
	case EqualFold(mech, CRAMMD5) && m.CRAMMD5 && !hasIR:
		e.mech = CRAMMD5
		e.salt = salt()
		return e, Step{Challenge: Encode([]byte(e.salt))}
	case EqualFold(mech, External) && m.External:
		e.mech = External
	default:
		return nil, Step{Err: ErrMechanism}
	}
	if !hasIR {
		if e.mech == Plain {
			return e, Step{}
		}
		return e, Step{Challenge: UsernameChallenge}
	}
	return e, e.respond(ir, false)
}

// Mechanism returns the exchange's mechanism name, upper case.
func (e *Exchange) Mechanism() string { return e.mech }

// Respond takes the client's response to the last challenge.
func (e *Exchange) Respond(token []byte) Step { return e.respond(token, true) }

func (e *Exchange) respond(token []byte, challenged bool) Step {
	dec, err := Decode(token)
	if err != nil {
		return Step{Err: &DecodeError{Mech: e.mech, Challenged: challenged, User: e.mech == Login && e.user == nil}}
	}
	switch e.mech {
	case Plain:
		user, pass, err := SplitPlain(dec)
		if err != nil {
			return Step{Err: err}
		}
		return done(MethodPlain, user, pass, "")
	case Login:
		if e.user == nil {
			e.user = dec
			if e.user == nil {
				e.user = []byte{}
			}
			return Step{Challenge: PasswordChallenge}
		}
		return done(MethodPlain, string(e.user), string(dec), "")
	case CRAMMD5:
		user, digest, err := SplitCRAM(dec)
		if err != nil {
			return Step{Err: err}
		}
		return done(MethodCRAMMD5, user, digest, e.salt)
	case External:
		return done(MethodExternal, string(dec), "", "")
	}
	return Step{Err: ErrMechanism}
}

func done(method, user, pass, salt string) Step {
	return Step{Done: true, Creds: Credentials{Method: method, User: user, Pass: pass, Salt: salt}}
}

// Names lists the SASL names of m's mechanisms in nginx's fixed order, as
// capability listings show them: PLAIN and LOGIN when plain is set, then
// CRAM-MD5 and EXTERNAL when enabled.
func (m Mechanisms) Names(plain, login bool) []string {
	var out []string
	if plain {
		out = append(out, Plain)
	}
	if login {
		out = append(out, Login)
	}
	if m.CRAMMD5 {
		out = append(out, CRAMMD5)
	}
	if m.External {
		out = append(out, External)
	}
	return out
}

// Enabled reads the optional mechanisms from a protocol's *_auth list
// (lower-case nginx keywords).
func Enabled(auth []string) Mechanisms {
	var m Mechanisms
	for _, a := range auth {
		switch strings.ToLower(a) {
		case "cram-md5":
			m.CRAMMD5 = true
		case "external":
			m.External = true
		}
	}
	return m
}
