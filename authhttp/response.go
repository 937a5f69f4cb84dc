package authhttp

import (
	"bytes"
	"errors"
	"math"
	"net/netip"
	"time"
)

// MaxHeadSize is the most nginx reads of an answer: status line, header
// lines and the empty line together (SPEC §10.1).
const MaxHeadSize = 1024

// DefaultSMTPErrorCode is what nginx puts before the failure text of an
// SMTP answer whose Auth-Error-Code is absent or empty (SPEC §10.4).
const DefaultSMTPErrorCode = "535 5.7.0"

// errNeedMore is scanHead's "the header block is not complete yet".
var errNeedMore = errors.New("authhttp: incomplete response header")

// ParseResponse applies nginx's parsing and decision rules (SPEC §10.1–
// §10.3) to head, the bytes the auth server sent.
//
// Only the first MaxHeadSize bytes count; bytes after the empty line that
// ends the header block (the body) are ignored. When head holds no
// complete header block the error is a *TransportError: HeadTooLarge if
// head is longer than MaxHeadSize, ClosedEarly otherwise.
//
// r supplies what the decision depends on: Protocol ("smtp" or not),
// Method (whether an Auth-Pass is required) and Waiting (§10.5). A nil r
// is read as a plain IMAP login. The result is, in nginx's order:
//
//  1. StatusFail when an Auth-Status other than "OK" and "WAIT" was seen
//     (the last such value is Text; a later OK does not cancel it; an empty
//     value counts for IMAP/POP3 but not for SMTP);
//  2. StatusWait when Auth-Status: WAIT was seen or r.Waiting is set;
//  3. *ResponseError MissingServerOrPort, MissingPassword,
//     InvalidServerAddress, InvalidServerPort, InvalidBackendMethod;
//  4. StatusOK with Server and Upstream.
//
// With r.ServerNames, a valid host name in Auth-Server is accepted
// (Response.Host). Auth-SSL-Backend must be on, starttls or off and
// Auth-SSL-Backend-Name a host name (InvalidSSLBackend,
// InvalidSSLBackendName); both are checked for StatusOK answers only.
//
// Syntax errors give *ResponseError InvalidResponse or InvalidHeader. The
// status code of the status line is never looked at (a list of auth_http
// URLs looks at it, see Endpoints).
func ParseResponse(head []byte, r *Request) (*Response, error) {
	b := head
	if len(b) > MaxHeadSize {
		b = b[:MaxHeadSize]
	}
	var a answer
	a.smtp = r != nil && r.Protocol == "smtp"
	n, err := scanHead(b, &a)
	if err != nil {
		if err != errNeedMore {
			return nil, err
		}
		if len(head) > MaxHeadSize {
			return nil, &TransportError{Kind: HeadTooLarge}
		}
		return nil, &TransportError{Kind: ClosedEarly}
	}
	resp, err := a.decide(r)
	if err == nil && resp.Status == StatusOK && r != nil && r.KeepHeaders {
		resp.head = string(b[:n])
	}
	return resp, err
}

// HeaderVariable is freenginx's $auth_http_NAME for an accepted answer
// to a request with KeepHeaders: the values of every header whose name,
// lower-cased with '-' as '_', is name, joined by ", " in answer order;
// "" when there is none.
func (r *Response) HeaderVariable(name string) string {
	var out []byte
	found := false
	scanHead([]byte(r.head), &answer{each: func(n, v []byte) {
		if len(n) != len(name) {
			return
		}
		for i := range n {
			c := n[i]
			switch {
			case c >= 'A' && c <= 'Z':
				c |= 0x20
			case c == '-':
				c = '_'
			}
			if c != name[i] {
				return
			}
		}
		if found {
			out = append(out, ", "...)
		}
		found = true
		out = append(out, v...)
	}})
	return string(out)
}

// answer collects the headers nginx uses, as slices of the head.
type answer struct {
	smtp bool

	failed  bool   // an error Auth-Status is in force
	errText []byte // its text
	wait    bool   // Auth-Status: WAIT seen
	sleep   int64  // last valid Auth-Wait, seconds
	errCode []byte
	addr    []byte
	port    []byte
	user    []byte
	pass    []byte
	hasUser bool
	hasPass bool
	errSASL []byte
	hasSASL bool
	backend []byte

	sslBackend     []byte
	hasSSLBackend  bool
	sslBackendName []byte
	cacheTTL       int64
	hasCacheTTL    bool

	// each, when set, is given every header line instead.
	each func(name, value []byte)
}

// header records one header line as nginx's process_headers does.
func (a *answer) header(name, value []byte) {
	if a.each != nil {
		a.each(name, value)
		return
	}
	switch {
	case equalFold(name, "Auth-Status"):
		switch string(value) {
		case "OK":
		case "WAIT":
			a.wait = true
		default:
			a.errText = value
			// nginx keeps the reply it built: never empty for IMAP/POP3,
			// the bare text (possibly empty, i.e. no error) for SMTP.
			a.failed = !a.smtp || len(value) > 0
		}
	case equalFold(name, "Auth-Server"):
		a.addr = value
	case equalFold(name, "Auth-Port"):
		a.port = value
	case equalFold(name, "Auth-User"):
		a.user, a.hasUser = value, true
	case equalFold(name, "Auth-Pass"):
		a.pass, a.hasPass = value, true
	case equalFold(name, "Auth-Wait"):
		if n, ok := atoi(value); ok {
			a.sleep = n
		}
	case equalFold(name, "Auth-Error-Code"):
		a.errCode = value
	case equalFold(name, "Auth-Error-SASL"):
		a.errSASL, a.hasSASL = value, true
	case equalFold(name, "Auth-Backend-Method"):
		a.backend = value
	case equalFold(name, "Auth-SSL-Backend"):
		a.sslBackend, a.hasSSLBackend = value, true
	case equalFold(name, "Auth-SSL-Backend-Name"):
		a.sslBackendName = value
	case equalFold(name, "Auth-Cache-TTL"):
		// A value that is not a number forbids caching.
		n, _ := atoi(value)
		a.cacheTTL, a.hasCacheTTL = n, true
	}
}

// decide is nginx's evaluation after the header block (SPEC §10.3).
func (a *answer) decide(r *Request) (*Response, error) {
	resp := &Response{
		ErrorCode: string(a.errCode),
		Wait:      seconds(a.sleep),
		User:      string(a.user),
		HasUser:   a.hasUser,
		Pass:      string(a.pass),
		HasPass:   a.hasPass,
		// freenginx honours Auth-Error-SASL for the OAuth methods only.
		ErrorSASL:    string(a.errSASL),
		HasErrorSASL: a.hasSASL && r != nil && (r.Method == MethodXOAUTH2 || r.Method == MethodOAuthBearer),

		CacheTTL:    seconds(a.cacheTTL),
		HasCacheTTL: a.hasCacheTTL,
	}
	if a.failed {
		resp.Status = StatusFail
		resp.Text = string(a.errText)
		return resp, nil
	}
	if a.wait || (r != nil && r.Waiting) {
		resp.Status = StatusWait
		return resp, nil
	}
	if len(a.addr) == 0 || len(a.port) == 0 {
		return nil, &ResponseError{Kind: MissingServerOrPort}
	}
	if !a.smtp && !a.hasPass && r != nil && needsPass(r.Method) {
		return nil, &ResponseError{Kind: MissingPassword}
	}
	ip, ok := parseAddr(a.addr)
	if !ok {
		if r == nil || !r.ServerNames || !validHostname(string(a.addr)) {
			return nil, &ResponseError{Kind: InvalidServerAddress, Value: string(a.addr)}
		}
		resp.Host = string(a.addr)
	}
	port, ok := atoi(a.port)
	if !ok || port < 1 || port > 65535 {
		return nil, &ResponseError{Kind: InvalidServerPort, Value: string(a.port)}
	}
	if a.backend != nil {
		switch m := string(bytes.ToLower(a.backend)); m {
		case MethodXOAUTH2, MethodOAuthBearer:
			resp.BackendMethod = m
		default:
			return nil, &ResponseError{Kind: InvalidBackendMethod, Value: string(a.backend)}
		}
	}
	if a.hasSSLBackend {
		switch v := string(a.sslBackend); v {
		case "on", "starttls", "off":
			resp.SSLBackend = v
		default:
			return nil, &ResponseError{Kind: InvalidSSLBackend, Value: v}
		}
	}
	if len(a.sslBackendName) > 0 {
		if !validHostname(string(a.sslBackendName)) {
			return nil, &ResponseError{Kind: InvalidSSLBackendName, Value: string(a.sslBackendName)}
		}
		resp.SSLBackendName = string(a.sslBackendName)
	}
	resp.Status = StatusOK
	if resp.Host != "" {
		resp.Port = uint16(port)
	} else {
		resp.Server = netip.AddrPortFrom(ip, uint16(port))
	}
	resp.Upstream = string(a.addr) + ":" + string(a.port)
	return resp, nil
}

// statusCode returns the status code of b's status line ("HTTP/1.1 503
// …"), or 0 when b has none.
func statusCode(b []byte) int {
	if len(b) < 12 || string(b[:5]) != "HTTP/" {
		return 0
	}
	i := 5
	for i < len(b) && b[i] != ' ' && b[i] != '\r' && b[i] != '\n' {
		i++
	}
	if i+4 > len(b) || b[i] != ' ' {
		return 0
	}
	n, ok := atoi(b[i+1 : i+4])
	if !ok || (i+4 < len(b) && b[i+4] >= '0' && b[i+4] <= '9') {
		return 0
	}
	return int(n)
}

// needsPass reports whether nginx has no password of its own after a
// request with this method: the client never gave one (external) or nginx
// dropped the digest (apop, cram-md5).
func needsPass(method string) bool {
	switch method {
	case MethodAPOP, MethodCRAMMD5, MethodExternal:
		return true
	}
	return false
}

// seconds converts Auth-Wait to a Duration, saturating instead of
// overflowing.
func seconds(n int64) time.Duration {
	if n > math.MaxInt64/int64(time.Second) {
		return math.MaxInt64
	}
	return time.Duration(n) * time.Second
}

// atoi is ngx_atoi: one or more decimal digits, no sign, no spaces, no
// overflow of int64.
func atoi(b []byte) (int64, bool) {
	if len(b) == 0 {
		return 0, false
	}
	const cutoff, cutlim = math.MaxInt64 / 10, math.MaxInt64 % 10
	var v int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		d := int64(c - '0')
		if v > cutoff || (v == cutoff && d > cutlim) {
			return 0, false
		}
		v = v*10 + d
	}
	return v, true
}

// equalFold compares an ASCII header name case-insensitively.
func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(b) {
		if b[i]|0x20 != s[i]|0x20 {
			return false
		}
	}
	return true
}
