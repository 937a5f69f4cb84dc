// Package authhttp is the client side of nginx's auth_http protocol
// (SPEC.md §9 and §10): it builds the request byte for byte as nginx does,
// sends it over a fresh HTTP/1.0 connection, and parses the answer with
// nginx's rules.
//
// The package knows nothing about IMAP, POP3 or SMTP sessions: a front end
// fills a Request, the proxy adds the connection facts and calls Client.Do.
//
// Pieces:
//   - ParseURL parses the auth_http URL (the configuration does it, once,
//     and reports its errors at their line); NewClient resolves it and
//     Client.Do makes one exchange (new connection, request, header
//     block, close) within the timeout.
//   - AppendRequest / Client.AppendRequest build the request bytes;
//     AppendEscape / Escape are nginx's escaping of §9.4.
//   - ParseResponse applies nginx's parsing and decision rules to an answer.
//   - Errors are *ResponseError or *TransportError; every one of them means
//     nginx's internal-error reply, and LogMessage gives nginx's log text.
//
// Beyond nginx, each off unless asked for: https:// URLs (Client.SetTLS),
// keep-alive (Client.SetKeepAlive), several URLs with passive health
// (Endpoints), an answer cache keyed by an HMAC of the request (Cache),
// failover requests (Request.FailedServer) and the answer headers
// Auth-SSL-Backend, Auth-SSL-Backend-Name and Auth-Cache-TTL.
package authhttp

import (
	"net/netip"
	"time"
)

// Auth methods as they appear in the Auth-Method header.
const (
	MethodPlain    = "plain"
	MethodAPOP     = "apop"
	MethodCRAMMD5  = "cram-md5"
	MethodExternal = "external"
	MethodNone     = "none"
	// The OAuth 2.0 mechanisms (freenginx 1.27.1+): Auth-User is the user
	// the client's message names, Auth-Pass the bearer token.
	MethodXOAUTH2     = "xoauth2"
	MethodOAuthBearer = "oauthbearer"
)

// Header is one extra header line (auth_http_header), sent verbatim.
type Header struct {
	Name  string
	Value string
}

// ProxyInfo holds the addresses of an inbound PROXY protocol header, as text
// (v1: exactly as the sender wrote them; v2: canonical text form).
type ProxyInfo struct {
	SrcAddr string
	SrcPort string
	DstAddr string
	DstPort string
}

// SSLInfo describes a TLS client connection (SPEC §9.2 rows 17–25).
// Protocol and Cipher use OpenSSL's names. The Verify… fields are sent only
// when Verify is non-empty (ssl_verify_client is not off); Subject, Issuer,
// Serial and Fingerprint only when a certificate was presented; Cert only
// when it is non-empty (auth_http_pass_client_cert on).
type SSLInfo struct {
	Protocol    string
	Cipher      string
	Verify      string
	Subject     string
	Issuer      string
	Serial      string
	Fingerprint string
	Cert        string
}

// Request is one auth_http request. The zero value of an optional field
// means "not sent" where SPEC §9.2 makes the header conditional.
type Request struct {
	Method       string // one of the Method… constants
	User         string // escaped on the wire (§9.4)
	Pass         string // escaped on the wire (§9.4)
	Salt         string // sent only for apop and cram-md5 when non-empty; no CRLF
	Protocol     string // imap, pop3, smtp or sieve
	LoginAttempt int
	ClientIP     string
	ClientHost   string     // sent only when Protocol is smtp and non-empty
	Proxy        *ProxyInfo // nil: no PROXY header with addresses
	SMTPHelo     string     // Auth-SMTP-* are sent only when Method is none
	SMTPFrom     string
	SMTPTo       string
	SSL          *SSLInfo // nil: not a TLS connection

	// Client details beyond nginx (auth_http_pass_client_details), each
	// sent only when non-empty, after Client-Host: the client's port
	// (after a trusted PROXY header, the real one), the address and port
	// it connected to, and its IMAP ID parameter list as text (IMAPID,
	// escaped as Auth-User is).
	ClientPort string
	ServerAddr string
	ServerPort string
	IMAPID     string
	// FailedServer and FailedReason (beyond nginx) make a failover
	// request: the backend the previous answer named ("ADDR:PORT", or
	// "NAME:PORT" as the answer gave it) could not be used, for the
	// reason given ("connect", "tls", "login", "timeout"). Sent as
	// Auth-Failed-Server and Auth-Failed-Reason when FailedServer is not
	// empty.
	FailedServer string
	FailedReason string
	// KeepHeaders is never sent: it makes an accepted answer keep its
	// header block for Response.HeaderVariable (limit_conn zones keyed
	// by $auth_http_NAME).
	KeepHeaders bool

	// Waiting is never sent. It carries nginx's per-session WAIT flag
	// (SPEC §10.5) into ParseResponse: set it while an earlier answer of
	// this session said Auth-Status: WAIT and no positive Auth-Wait delay
	// has expired since (nginx clears the flag only when such a delay
	// ends). While it is set every answer without an error Auth-Status is
	// judged StatusWait, even "OK" with server and port.
	Waiting bool

	// ServerNames is never sent. It lets ParseResponse accept a host
	// name in Auth-Server (Response.Host) where nginx accepts only an
	// IP literal and refuses the answer.
	ServerNames bool

	// OriginatingIP is never sent: the client address an IMAP client
	// gave in its ID x-originating-ip field, which login_throttle uses
	// when the client is one of its exempt sources (a webmail).
	OriginatingIP string
}

// Status is the verdict of an auth response (SPEC §10.3).
type Status int

const (
	// StatusOK: log in to Server with User and Pass.
	StatusOK Status = iota
	// StatusFail: refuse with Text (and ErrorCode for SMTP); if Wait > 0
	// delay the reply by Wait and keep the session, otherwise close.
	StatusFail
	// StatusWait: send the same request again after Wait.
	StatusWait
)

// Response is the decision drawn from the auth service's answer.
// A Response is only returned for an answer that nginx would act on;
// everything nginx turns into the internal error is returned as an error.
type Response struct {
	Status    Status
	Text      string         // failure text (Auth-Status value)
	ErrorCode string         // Auth-Error-Code, verbatim (SMTP only); "": DefaultSMTPErrorCode
	Wait      time.Duration  // Auth-Wait
	Server    netip.AddrPort // backend address (StatusOK only)
	// Host is the backend's host name when Auth-Server was one (only
	// with Request.ServerNames; Server is then invalid) and Port its
	// port (0 when Host is empty: Server has it).
	Host string
	Port uint16
	// Upstream is Auth-Server and Auth-Port joined with ":" as nginx logs it.
	Upstream string
	// User and Pass are the Auth-User / Auth-Pass values of the answer,
	// verbatim (no percent-decoding); HasUser/HasPass tell whether the
	// header was present. nginx applies them to the session whatever the
	// Status: they replace the login in log lines and, after WAIT or a
	// failure with Auth-Wait, the credentials of the next request.
	User    string
	HasUser bool
	Pass    string
	HasPass bool
	// ErrorSASL is Auth-Error-SASL (freenginx 1.27.1+), verbatim: for an
	// XOAUTH2 or OAUTHBEARER failure it is sent to the client as a SASL
	// challenge before the failure reply. HasErrorSASL tells whether the
	// header was present (an empty value is a challenge too).
	ErrorSASL    string
	HasErrorSASL bool
	// BackendMethod is Auth-Backend-Method (beyond nginx), lower case:
	// MethodXOAUTH2 or MethodOAuthBearer makes the backend login
	// authenticate with that SASL mechanism, User and Pass (the token)
	// in its message, instead of the protocol's password login; "" when
	// absent. Another value makes an OK answer a ResponseError.
	BackendMethod string

	// Headers beyond nginx (README, "The auth service"); their zero
	// values change nothing.

	// SSLBackend is Auth-SSL-Backend: "on" (implicit TLS), "starttls"
	// or "off", overriding proxy_ssl for this login; "" when absent.
	SSLBackend string
	// SSLBackendName is Auth-SSL-Backend-Name: the name the backend's
	// certificate must carry (and SNI, with proxy_ssl_server_name),
	// overriding proxy_ssl_name; "" when absent.
	SSLBackendName string
	// CacheTTL is Auth-Cache-TTL: how long auth_http_cache may keep this
	// answer (0: not at all); HasCacheTTL tells whether it was sent.
	CacheTTL    time.Duration
	HasCacheTTL bool

	head string // the header block of an accepted answer, with KeepHeaders
}
