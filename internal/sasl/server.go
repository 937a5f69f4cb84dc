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
	// The OAuth mechanisms' Auth-Method values are their *_auth
	// keywords, as in freenginx.
	MethodXOAUTH2     = "xoauth2"
	MethodOAuthBearer = "oauthbearer"
)

// ErrMechanism reports a mechanism that is unknown, not enabled, or used
// in a form it does not allow (CRAM-MD5 with an initial response). nginx
// logs nothing for it.
var ErrMechanism = errors.New("unsupported SASL mechanism")

// ErrErrorAck reports a response to an Auth-Error-SASL challenge that is
// not the acknowledgement the mechanism expects (freenginx answers it
// with the protocol's error).
var ErrErrorAck = errors.New("invalid response to the SASL error challenge")

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

// Credentials are what a finished exchange yields for the auth request.
type Credentials struct {
	Method string // Method… constant
	User   string
	Pass   string // the password, or the CRAM-MD5 digest; "" for EXTERNAL
	Salt   string // the CRAM-MD5 challenge's salt; "" otherwise
}

// Step is where an exchange stands after its last input: exactly one of
// Err (the exchange is over and refused; log "client sent "+Err unless it
// is ErrMechanism), Done (Creds hold the credentials), Ack (the client
// acknowledged an Auth-Error-SASL challenge, see AfterError: the login's
// failure reply is due) or a challenge to send (Challenge, base64 text,
// possibly empty) and wait for a response.
type Step struct {
	Challenge string
	Done      bool
	Creds     Credentials
	Ack       bool
	Err       error
}

// Exchange is one running SASL exchange, server side, without I/O: the
// protocol front end frames the challenges ("+ ", "334 ", a quoted
// string) and extracts the response token from the client's line.
type Exchange struct {
	mech *mechanism
	user []byte // LOGIN's user name once given
	salt string // CRAM-MD5
	// failed: the auth service refused the credentials with an
	// Auth-Error-SASL challenge, the client's acknowledgement is due.
	failed bool
}

// mechanism is one SASL mechanism, server side. Each lives in its own
// file and registers itself with register; adding a mechanism is one
// file.
type mechanism struct {
	name string // the SASL name, upper case
	// keyword is the *_auth keyword that enables it (and advertises it).
	keyword string
	// always: accepted whether its keyword is listed or not (nginx
	// accepts PLAIN and LOGIN everywhere).
	always bool
	// order places it in capability listings (PLAIN 10, LOGIN 20, …).
	order int
	// start begins an exchange with an optional initial response.
	start func(e *Exchange, ir []byte, hasIR bool, salt func() string) Step
	// respond takes a response; challenged tells it answered a challenge.
	respond func(e *Exchange, token []byte, challenged bool) Step
	// ack, for mechanisms with an error dialogue (XOAUTH2, OAUTHBEARER),
	// tells whether a response to an Auth-Error-SASL challenge is the
	// acknowledgement the mechanism expects.
	ack func(token []byte) bool
}

// registry holds the registered mechanisms in listing order.
var registry []*mechanism

// register adds m to the registry (from an init function).
func register(m *mechanism) {
	i := 0
	for i < len(registry) && registry[i].order < m.order {
		i++
	}
	registry = append(registry[:i], append([]*mechanism{m}, registry[i:]...)...)
}

// Mechanisms are the mechanisms a server enables: the *_auth keywords.
type Mechanisms struct{ keywords []string }

// Enabled reads the mechanisms from a protocol's *_auth list (lower-case
// nginx keywords; others, such as apop or none, are ignored).
func Enabled(auth []string) Mechanisms {
	var m Mechanisms
	for _, a := range auth {
		m.keywords = append(m.keywords, strings.ToLower(a))
	}
	return m
}

func (m Mechanisms) has(keyword string) bool {
	for _, k := range m.keywords {
		if k == keyword {
			return true
		}
	}
	return false
}

// Names lists the SASL names of the enabled mechanisms in listing order,
// for CAPABILITY, EHLO, CAPA and the ManageSieve greeting.
func (m Mechanisms) Names() []string {
	var out []string
	for _, mech := range registry {
		if m.has(mech.keyword) {
			out = append(out, mech.name)
		}
	}
	return out
}

// Start begins an exchange for mech (matched case-insensitively) with an
// optional initial response ir (hasIR). salt returns the CRAM-MD5 salt
// (POP3 reuses its greeting's; IMAP and SMTP make one on first use); it is
// called only by mechanisms that need one. A mechanism that is unknown,
// not enabled, or used in a form it does not allow is ErrMechanism.
func Start(m Mechanisms, mech []byte, ir []byte, hasIR bool, salt func() string) (*Exchange, Step) {
	for _, r := range registry {
		if EqualFold(mech, r.name) && (r.always || m.has(r.keyword)) {
			e := &Exchange{mech: r}
			return e, r.start(e, ir, hasIR, salt)
		}
	}
	return nil, Step{Err: ErrMechanism}
}

// Mechanism returns the exchange's mechanism name, upper case.
func (e *Exchange) Mechanism() string { return e.mech.name }

// Respond takes the client's response to the last challenge.
func (e *Exchange) Respond(token []byte) Step { return e.RespondLine(token, false) }

// RespondLine takes the client's response to the last challenge: token,
// and more when the response line held other arguments after it
// (freenginx accepts the acknowledgement of an error challenge only
// alone on its line; other responses ignore what follows the token).
func (e *Exchange) RespondLine(token []byte, more bool) Step {
	if e.failed {
		if more || !e.mech.ack(token) {
			return Step{Err: ErrErrorAck}
		}
		return Step{Ack: true}
	}
	return e.mech.respond(e, token, true)
}

// AfterError returns the exchange that waits for the client's answer to
// an Auth-Error-SASL challenge, sent after the auth service refused
// credentials whose Auth-Method was method: its response is Ack when it
// is the mechanism's acknowledgement (XOAUTH2: empty; OAUTHBEARER:
// "AQ==") and ErrErrorAck otherwise. It returns nil for a method without
// an error dialogue.
func AfterError(method string) *Exchange {
	for _, r := range registry {
		if r.ack != nil && r.keyword == method {
			return &Exchange{mech: r, failed: true}
		}
	}
	return nil
}

// decode decodes a response the way nginx does, or returns the refusal.
func (e *Exchange) decode(token []byte, challenged bool) ([]byte, *Step) {
	dec, err := Decode(token)
	if err != nil {
		return nil, &Step{Err: &DecodeError{Mech: e.mech.name, Challenged: challenged, User: e.mech.name == Login && e.user == nil}}
	}
	return dec, nil
}

// firstOrIR answers a mechanism without a challenge of its own: the
// initial response, or an empty challenge first.
func firstOrIR(challenge string) func(e *Exchange, ir []byte, hasIR bool, _ func() string) Step {
	return func(e *Exchange, ir []byte, hasIR bool, _ func() string) Step {
		if !hasIR {
			return Step{Challenge: challenge}
		}
		return e.mech.respond(e, ir, false)
	}
}

func done(method, user, pass, salt string) Step {
	return Step{Done: true, Creds: Credentials{Method: method, User: user, Pass: pass, Salt: salt}}
}
