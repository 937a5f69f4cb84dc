package sasl

import (
	"bytes"
	"errors"
)

// Errors of the XOAUTH2 message split; their texts are freenginx's log
// message tails.
var (
	ErrXOAUTH2Login = errors.New("invalid login in AUTH XOAUTH2 command")
	ErrXOAUTH2Token = errors.New("invalid token in AUTH XOAUTH2 command")
)

// XOAUTH2 (Google's pre-RFC mechanism): one message
// "user=" USER ^A "auth=Bearer " TOKEN ^A ^A, as the initial response or
// after an empty challenge. Auth-User is USER, Auth-Pass the token. After
// an Auth-Error-SASL challenge the client acknowledges with an empty
// response. freenginx 1.27.1 parses it this way (ngx_mail_auth_xoauth2).
func init() {
	register(oauth(XOAUTH2, MethodXOAUTH2, 50, ParseXOAUTH2, func(token []byte) bool { return len(token) == 0 }))
}

// oauth is an OAuth 2.0 mechanism: one message, as the initial response
// or after an empty challenge, split by parse into the user and the
// token (Auth-User, Auth-Pass), with an error dialogue whose
// acknowledgement ack recognises.
func oauth(name, method string, order int, parse func([]byte) (string, string, error), ack func([]byte) bool) *mechanism {
	return &mechanism{
		name: name, keyword: method, order: order,
		start: firstOrIR(""),
		respond: func(e *Exchange, token []byte, challenged bool) Step {
			dec, refused := e.decode(token, challenged)
			if refused != nil {
				return *refused
			}
			user, bearer, err := parse(dec)
			if err != nil {
				return Step{Err: err}
			}
			return done(method, user, bearer, "")
		},
		ack: ack,
	}
}

// ClientMessage is the client side of the OAuth mechanism whose
// Auth-Method is method (MethodXOAUTH2, else OAUTHBEARER), for a backend
// login: the SASL name, the message for user and token, encoded, and the
// acknowledgement of an error challenge, encoded.
func ClientMessage(method, user, token string) (mech, msg, ack string) {
	if method == MethodOAuthBearer {
		return OAuthBearer, Encode(OAuthBearerMessage(user, token)), Encode([]byte{1})
	}
	return XOAUTH2, Encode(XOAUTH2Message(user, token)), ""
}

// ParseXOAUTH2 splits a decoded XOAUTH2 message as freenginx does: the
// user is what follows a case-insensitive "user=" before the first ^A
// (possibly empty); the rest must start with a case-insensitive
// "auth=Bearer " and end with ^A^A, and the token is what lies between
// (possibly empty, ^A included).
func ParseXOAUTH2(b []byte) (user, token string, err error) {
	i := bytes.IndexByte(b, 1)
	if i < 0 || !hasPrefixFold(b[:i], "user=") {
		return "", "", ErrXOAUTH2Login
	}
	rest := b[i+1:]
	if !hasPrefixFold(rest, bearerPrefix) {
		return "", "", ErrXOAUTH2Token
	}
	rest = rest[len(bearerPrefix):]
	if len(rest) < 2 || rest[len(rest)-2] != 1 || rest[len(rest)-1] != 1 {
		return "", "", ErrXOAUTH2Token
	}
	return string(b[len("user="):i]), string(rest[:len(rest)-2]), nil
}

// XOAUTH2Message is the XOAUTH2 client message for user and token, not
// encoded.
func XOAUTH2Message(user, token string) []byte {
	return []byte("user=" + user + "\x01" + bearerPrefix + token + "\x01\x01")
}

// bearerPrefix starts the auth key-value pair of both OAuth mechanisms.
const bearerPrefix = "auth=Bearer "

// hasPrefixFold reports whether b starts with the ASCII prefix p, ignoring
// case.
func hasPrefixFold(b []byte, p string) bool {
	return len(b) >= len(p) && bytes.EqualFold(b[:len(p)], []byte(p))
}
