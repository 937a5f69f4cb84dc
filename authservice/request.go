package authservice

import (
	"net/http"
	"strconv"
	"strings"
)

// Auth methods as nginx sends them in Auth-Method (SPEC.md §9.2).
const (
	MethodPlain    = "plain"
	MethodAPOP     = "apop"
	MethodCRAMMD5  = "cram-md5"
	MethodExternal = "external"
	MethodNone     = "none"
)

// request is the part of an auth_http request the service looks at, with
// Auth-User and Auth-Pass already percent-decoded.
type request struct {
	method    string
	user      string
	pass      string // plaintext password, or the client's digest
	salt      string
	hasSalt   bool
	protocol  string
	attempt   int // Auth-Login-Attempt; 0 when missing or not a number
	clientIP  string
	sslVerify string // Auth-SSL-Verify, verbatim
	smtpTo    string // Auth-SMTP-To, verbatim
	// failedServer is Auth-Failed-Server: mailproxy asks for another
	// backend than this one (failover).
	failedServer string
}

// parseRequest extracts the auth_http headers from r. Header names are
// matched case-insensitively, as net/http canonicalises them.
func parseRequest(r *http.Request) *request {
	h := r.Header
	req := &request{
		method:    strings.ToLower(h.Get("Auth-Method")),
		user:      PercentDecode(h.Get("Auth-User")),
		pass:      PercentDecode(h.Get("Auth-Pass")),
		salt:      h.Get("Auth-Salt"),
		protocol:  strings.ToLower(h.Get("Auth-Protocol")),
		clientIP:  h.Get("Client-IP"),
		sslVerify: h.Get("Auth-SSL-Verify"),
		smtpTo:    h.Get("Auth-SMTP-To"),

		failedServer: h.Get("Auth-Failed-Server"),
	}
	_, req.hasSalt = h["Auth-Salt"]
	if n, err := strconv.Atoi(h.Get("Auth-Login-Attempt")); err == nil && n > 0 {
		req.attempt = n
	}
	return req
}

// recipient returns the address of an Auth-SMTP-To value such as
// "RCPT TO:<c@d> NOTIFY=NEVER": the text between the first "<" and the
// following ">", or, without brackets, the first word after the colon.
func recipient(rcpt string) string {
	if i := strings.IndexByte(rcpt, '<'); i >= 0 {
		rest := rcpt[i+1:]
		if j := strings.IndexByte(rest, '>'); j >= 0 {
			return rest[:j]
		}
		return ""
	}
	i := strings.IndexByte(rcpt, ':')
	if i < 0 {
		return ""
	}
	f := strings.Fields(rcpt[i+1:])
	if len(f) == 0 {
		return ""
	}
	return f[0]
}
