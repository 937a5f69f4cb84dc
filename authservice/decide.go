package authservice

import (
	"net/http"
	"strconv"
	"strings"
)

// kind is the outcome of a request.
type kind int

const (
	kindInternal    kind = iota // bad secret or malformed request
	kindOK                      // log in to backend
	kindInvalid                 // wrong credentials
	kindRelayDenied             // method none refused
)

func (k kind) String() string {
	switch k {
	case kindOK:
		return "ok"
	case kindInvalid:
		return "invalid"
	case kindRelayDenied:
		return "relay-denied"
	}
	return "error"
}

// decision is what the service answers, plus a reason for the log.
type decision struct {
	kind       kind
	backend    route
	sendPass   bool
	password   string
	reason     string
	httpStatus int // 0 means 200
	// OAuth logins: the user the token belongs to (sent as Auth-User),
	// the Auth-Backend-Method to answer, and whether a refusal carries
	// the Auth-Error-SASL challenge.
	user          string
	backendMethod string
	errorSASL     bool
}

// decide judges req against users. It does not look at the shared secret.
func (s *Service) decide(req *request, users *Users) decision {
	if !isProtocol(req.protocol) {
		return badRequest("unknown Auth-Protocol " + quoteShort(req.protocol))
	}
	switch req.method {
	case MethodPlain:
		return s.checkPassword(req, users, func(pw stored) bool { return pw.check(req.pass) }, false)
	case MethodCRAMMD5, MethodAPOP:
		if !req.hasSalt || req.salt == "" {
			return badRequest("no Auth-Salt for " + req.method)
		}
		digest := CRAMMD5Digest
		if req.method == MethodAPOP {
			digest = APOPDigest
		}
		return s.checkPassword(req, users, func(pw stored) bool { return digestEqual(req.pass, digest(pw.plain, req.salt)) }, true)
	case MethodExternal:
		if !s.opts.ExternalWithoutCert && req.sslVerify != "SUCCESS" {
			return decision{kind: kindInvalid, reason: "external without a verified client certificate"}
		}
		return s.checkPassword(req, users, func(stored) bool { return true }, true)
	case MethodNone:
		return s.relay(req, users)
	case MethodXOAUTH2, MethodOAuthBearer:
		return s.checkToken(req, users)
	}
	return badRequest("unknown Auth-Method " + quoteShort(req.method))
}

// checkPassword looks the user up for req.protocol and applies ok to the
// stored password. sendPass asks for Auth-Pass on success: it needs the
// plaintext, so a hashed password is refused for such a method.
func (s *Service) checkPassword(req *request, users *Users, ok func(password stored) bool, sendPass bool) decision {
	if req.user == RelayName {
		return decision{kind: kindInvalid, reason: "unknown user"}
	}
	a := users.get(req.user)
	if a == nil {
		return decision{kind: kindInvalid, reason: "unknown user"}
	}
	if sendPass && a.password.hashed() {
		return decision{kind: kindInvalid, reason: req.method + " needs the plaintext password, and the users file holds a " + a.password.scheme + " hash"}
	}
	if !ok(a.password) {
		return decision{kind: kindInvalid, reason: "wrong password"}
	}
	routes := a.routes[req.protocol]
	if len(routes) == 0 {
		return decision{kind: kindInvalid, reason: "no backend for " + req.protocol}
	}
	backend, found := next(routes, req.failedServer)
	if !found {
		return decision{kind: kindInvalid, reason: "no other backend than " + quoteShort(req.failedServer)}
	}
	return decision{kind: kindOK, backend: backend, sendPass: sendPass, password: a.password.plain}
}

// next picks the backend to answer: the first, or for a failover request
// the one after the backend that failed (none after the last).
func next(routes []route, failed string) (route, bool) {
	if failed == "" {
		return routes[0], true
	}
	for i, r := range routes {
		if r.String() == failed {
			if i+1 < len(routes) {
				return routes[i+1], true
			}
			return route{}, false
		}
	}
	return routes[0], true
}

// relay judges method none: SMTP without AUTH.
func (s *Service) relay(req *request, users *Users) decision {
	if req.protocol != "smtp" {
		return badRequest("method none with protocol " + req.protocol)
	}
	if !s.opts.AllowRelay {
		return decision{kind: kindRelayDenied, reason: "relay not allowed"}
	}
	rcpt := recipient(req.smtpTo)
	names := []string{rcpt}
	if at := strings.LastIndexByte(rcpt, '@'); at >= 0 {
		names = append(names, rcpt[:at])
	}
	names = append(names, RelayName)
	for _, n := range names {
		if n == "" {
			continue
		}
		if a := users.get(n); a != nil {
			if rs := a.routes["smtp"]; len(rs) > 0 {
				return decision{kind: kindOK, backend: rs[0], reason: "relay via " + quoteShort(n)}
			}
		}
	}
	return decision{kind: kindRelayDenied, reason: "no relay route for " + quoteShort(rcpt)}
}

// badRequest is the decision for a request nginx would never send.
func badRequest(reason string) decision {
	return decision{kind: kindInternal, reason: reason, httpStatus: http.StatusBadRequest}
}

// quoteShort quotes s for a log reason, cut to 64 bytes.
func quoteShort(s string) string {
	if len(s) > 64 {
		s = s[:64] + "..."
	}
	return strconv.Quote(s)
}
