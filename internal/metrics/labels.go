package metrics

import "strings"

// The fixed label values. Anything else maps to "other" (or, for
// outcomes, "error"), so a label never carries free text.
var (
	protocols   = []string{"imap", "pop3", "smtp"}
	authResults = []string{"ok", "fail", "wait", "error"}
	stages      = []string{"connect", "login"}
	tlsVersions = []string{"TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3", "failed"}
)

// Outcomes lists every value Outcome can return.
var Outcomes = []string{
	"client_closed", "backend_closed", "idle_timeout", "no_login", "timeout",
	"backend_failed", "bad_proxy_header", "tls_failed", "client_cert_refused",
	"client_error", "backend_error", "shutdown", "error",
}

// exact maps the proxy's fixed outcome strings to their labels.
var exact = map[string]string{
	"client closed":              "client_closed",
	"backend closed":             "backend_closed",
	"proxy_timeout":              "idle_timeout",
	"closed before login":        "no_login",
	"client timed out":           "timeout",
	"backend login failed":       "backend_failed",
	"bad PROXY header":           "bad_proxy_header",
	"TLS handshake failed":       "tls_failed",
	"client certificate refused": "client_cert_refused",
	"client write failed":        "client_error",
	"backend write failed":       "backend_error",
	"closed by server":           "shutdown",
}

// prefixes maps outcome strings that carry an error text after a fixed
// prefix.
var prefixes = []struct{ prefix, label string }{
	{"ended before login:", "no_login"},
	{"client error:", "client_error"},
	{"backend error:", "backend_error"},
}

// Outcome maps a session summary outcome (the proxy's free text, e.g.
// "client closed" or "backend error: read: connection reset by peer") to
// one of Outcomes:
//
//	client closed               client_closed
//	backend closed              backend_closed
//	proxy_timeout               idle_timeout (idle after login)
//	closed before login         no_login
//	ended before login: …       no_login
//	client timed out            timeout (the pre-auth `timeout`)
//	backend login failed        backend_failed
//	bad PROXY header            bad_proxy_header
//	TLS handshake failed        tls_failed
//	client certificate refused  client_cert_refused
//	client error: …             client_error
//	client write failed         client_error
//	backend error: …            backend_error
//	backend write failed        backend_error
//	closed by server            shutdown (a hard stop, or shutdown_timeout)
//	anything else (e.g. panic)  error
func Outcome(s string) string {
	if l, ok := exact[s]; ok {
		return l
	}
	for _, p := range prefixes {
		if strings.HasPrefix(s, p.prefix) {
			return p.label
		}
	}
	return "error"
}

// Protocol returns p if it is imap, pop3 or smtp, else "other".
func Protocol(p string) string { return oneOf(p, protocols) }

func oneOf(v string, allowed []string) string {
	for _, a := range allowed {
		if v == a {
			return a
		}
	}
	return "other"
}
