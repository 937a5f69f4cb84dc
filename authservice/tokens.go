package authservice

import (
	"encoding/base64"
	"fmt"
	"sort"
)

// Auth methods of the OAuth 2.0 mechanisms, as freenginx and mailproxy
// send them.
const (
	MethodXOAUTH2     = "xoauth2"
	MethodOAuthBearer = "oauthbearer"
)

// tokenPrefix starts a token line of the users file.
const tokenPrefix = "token:"

// ErrorSASL is the Auth-Error-SASL value of a refused token: RFC 7628
// §3.2.2's error JSON, base64 encoded. The client answers it with its
// mechanism's acknowledgement and then gets the failure reply.
var ErrorSASL = base64.StdEncoding.EncodeToString([]byte(`{"status":"invalid_token","schemes":"bearer","scope":"mail"}`))

// bearer is one token line.
type bearer struct {
	user    string
	forward bool // the backend checks the token (Auth-Backend-Method)
	line    int
}

// parseToken adds the token line fields (number n).
func (u *Users) parseToken(fields []string, n int) error {
	if len(fields) < 2 || len(fields) > 3 {
		return fmt.Errorf("want token:TOKEN NAME [forward], got %d field(s)", len(fields))
	}
	token, err := decodeField(fields[0][len(tokenPrefix):])
	if err != nil {
		return fmt.Errorf("token: %w", err)
	}
	if token == "" {
		return fmt.Errorf("empty token")
	}
	name, err := decodeField(fields[1])
	if err != nil {
		return fmt.Errorf("name of a token: %w", err)
	}
	if name == RelayName {
		return fmt.Errorf("a token cannot log in as the relay entry %q", RelayName)
	}
	b := &bearer{user: name, line: n}
	if len(fields) == 3 {
		if fields[2] != "forward" {
			return fmt.Errorf("token of %q: unknown option %q, want forward", name, fields[2])
		}
		b.forward = true
	}
	if prev, dup := u.tokens[token]; dup {
		return fmt.Errorf("token already given on line %d", prev.line)
	}
	u.tokens[token] = b
	return nil
}

// checkTokens reports tokens whose user has no line in the file.
func (u *Users) checkTokens(name string) []error {
	var errs []error
	for _, b := range u.tokens {
		if u.byName[b.user] == nil {
			errs = append(errs, fmt.Errorf("authservice: %s:%d: token of unknown user %q", name, b.line, b.user))
		}
	}
	sort.Slice(errs, func(i, j int) bool { return errs[i].Error() < errs[j].Error() })
	return errs
}

// token returns the token line of t, or nil.
func (u *Users) token(t string) *bearer {
	if u == nil {
		return nil
	}
	return u.tokens[t]
}

// checkToken judges an XOAUTH2 or OAUTHBEARER request: the token (Auth-Pass)
// must be in the file for the user the client named (Auth-User; an empty
// name, which XOAUTH2 allows, takes the token's user).
func (s *Service) checkToken(req *request, users *Users) decision {
	b := users.token(req.pass)
	switch {
	case b == nil:
		return decision{kind: kindInvalid, reason: "unknown token", errorSASL: true}
	case req.user != "" && req.user != b.user:
		return decision{kind: kindInvalid, reason: "token of another user", errorSASL: true}
	}
	a := users.get(b.user)
	routes := a.routes[req.protocol]
	if len(routes) == 0 {
		return decision{kind: kindInvalid, reason: "no backend for " + req.protocol, errorSASL: true}
	}
	backend, found := next(routes, req.failedServer)
	if !found {
		return decision{kind: kindInvalid, reason: "no other backend than " + quoteShort(req.failedServer)}
	}
	d := decision{kind: kindOK, backend: backend, user: b.user}
	switch {
	case b.forward:
		d.backendMethod = req.method
	case a.password.hashed():
		// Auth-Pass needs the plaintext, which a hash does not give.
		return decision{kind: kindInvalid, reason: "hashed password: a token needs forward or a plaintext password", errorSASL: true}
	default:
		d.sendPass, d.password = true, a.password.plain
	}
	return d
}
