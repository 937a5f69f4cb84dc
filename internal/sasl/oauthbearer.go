package sasl

import (
	"bytes"
	"errors"
	"strings"
)

// Errors of the OAUTHBEARER message split; their texts are freenginx's
// log message tails.
var (
	ErrOAuthBearerLogin = errors.New("invalid login in AUTH OAUTHBEARER command")
	ErrOAuthBearerToken = errors.New("invalid token in AUTH OAUTHBEARER command")
)

// OAUTHBEARER (RFC 7628): one message, a GS2 header with the user as
// "a=" then ^A-separated key-value pairs, one of them
// "auth=Bearer TOKEN", ending with ^A^A; as the initial response or after
// an empty challenge. Auth-User is the GS2 user with =2C and =3D decoded,
// Auth-Pass the token. After an Auth-Error-SASL challenge the client
// acknowledges with the dummy response ^A ("AQ=="). freenginx 1.27.1
// parses it this way (ngx_mail_auth_oauthbearer).
func init() {
	// freenginx compares the first four bytes of the response only.
	register(oauth(OAuthBearer, MethodOAuthBearer, 60, ParseOAuthBearer, func(token []byte) bool { return bytes.HasPrefix(token, []byte("AQ==")) }))
}

// ParseOAuthBearer splits a decoded OAUTHBEARER message as freenginx
// does. The user is the first comma-terminated field after the first one
// that starts with a case-insensitive "a=" and has a value; the scan stops
// at the first ^A, and a message without such a field has no login. The
// token is the value of the first ^A-terminated field after it that
// starts with a case-insensitive "auth=Bearer " and has a value. In the
// user "=2C" is a comma and "=3D" an equals sign; any other "=" is an
// error.
func ParseOAuthBearer(b []byte) (user, token string, err error) {
	p, login := 0, []byte(nil)
	prev := -1 // start of the current field; the first field never counts
	for p < len(b) && login == nil {
		switch b[p] {
		case ',':
			if prev >= 0 && p-prev > 2 && hasPrefixFold(b[prev:p], "a=") {
				login = b[prev+2 : p]
				break
			}
			p++
			prev = p
		case 1:
			return "", "", ErrOAuthBearerLogin
		default:
			p++
		}
	}
	if login == nil {
		return "", "", ErrOAuthBearerLogin
	}
	prev = -1
	for ; p < len(b); p++ {
		if b[p] != 1 {
			continue
		}
		if prev >= 0 && p-prev > len(bearerPrefix) && hasPrefixFold(b[prev:p], bearerPrefix) {
			token = string(b[prev+len(bearerPrefix) : p])
			break
		}
		prev = p + 1
	}
	if token == "" {
		return "", "", ErrOAuthBearerToken
	}
	var u strings.Builder
	for i := 0; i < len(login); i++ {
		if login[i] != '=' {
			u.WriteByte(login[i])
			continue
		}
		switch {
		case i+2 < len(login) && login[i+1] == '2' && (login[i+2] == 'C' || login[i+2] == 'c'):
			u.WriteByte(',')
		case i+2 < len(login) && login[i+1] == '3' && (login[i+2] == 'D' || login[i+2] == 'd'):
			u.WriteByte('=')
		default:
			return "", "", ErrOAuthBearerLogin
		}
		i += 2
	}
	return u.String(), token, nil
}

// OAuthBearerMessage is the OAUTHBEARER client message (RFC 7628 §3.1)
// for user and token, not encoded: "n,a=USER,^Aauth=Bearer TOKEN^A^A"
// with ',' and '=' in the user written =2C and =3D.
func OAuthBearerMessage(user, token string) []byte {
	u := strings.NewReplacer("=", "=3D", ",", "=2C").Replace(user)
	return []byte("n,a=" + u + ",\x01" + bearerPrefix + token + "\x01\x01")
}
