// Package config loads mailproxy's YAML configuration. Keys are nginx's
// mail directive names (SPEC.md §1); a top-level `mail` map holds defaults
// and each entry of `servers` overrides them with nginx's inheritance rules.
//
// A loaded *Config is immutable: reload builds a new one.
package config

import (
	stdtls "crypto/tls"
	"net/netip"
	"time"

	"mailproxy/authhttp"
	mailtls "mailproxy/tls"
)

// StartTLS is the value of the starttls directive.
type StartTLS int

const (
	StartTLSOff StartTLS = iota
	StartTLSOn
	StartTLSOnly
)

func (s StartTLS) String() string {
	switch s {
	case StartTLSOn:
		return "on"
	case StartTLSOnly:
		return "only"
	}
	return "off"
}

// Header is one auth_http_header entry, in configuration order.
type Header struct {
	Name  string
	Value string
}

// Listen is one item of a server's listen list.
type Listen struct {
	// Address is the bind address in Go's "host:port" form; a bare port in
	// the file becomes ":PORT" (all addresses, IPv4 and IPv6).
	Address       string
	SSL           bool
	ProxyProtocol bool
	Line          int // line in the file, for messages
}

// Config is a loaded, validated configuration.
type Config struct {
	File    string
	Servers []*Server

	// Process-wide settings (top-level keys).

	// ShutdownTimeout bounds the graceful stop (SIGQUIT); 0 waits for
	// every session (shutdown_timeout, or worker_shutdown_timeout).
	ShutdownTimeout time.Duration
	// WorkerShutdownTimeout is nginx's worker_shutdown_timeout beyond
	// the graceful stop: after a reload, the sessions this configuration
	// served are closed once it has passed, as nginx's old workers close
	// theirs. 0 (shutdown_timeout, or neither key): they carry on.
	WorkerShutdownTimeout time.Duration
	LogFormat             string // "text" (default), "json" or "nginx"
	LogLevel              string // one of nginx's level names, "info" by default: the level of sinks that name none
	MetricsListen         string // "" (off) or the host:port of the metrics listener
	PID                   string // pid file written once every listener is bound; "" for none
	// ErrorLog are the top-level error_log sinks: process messages, and
	// the sessions of servers without their own (nil: stderr).
	ErrorLog []LogSink
	// LoginThrottle is the mail-level login_throttle; nil: off.
	LoginThrottle *LoginThrottle

	// EventLoops is event_loops: how many event loops run the sessions
	// (EventLoopsAuto: one per CPU; 0: a goroutine per session).
	EventLoops int

	// MaxConnections caps the client connections of the process
	// (max_connections; nginx's worker_connections × worker_processes);
	// 0: only the descriptor limit caps them.
	MaxConnections int
	// User is the account the process drops to once its listeners are
	// bound (nginx's user directive); nil: no change.
	User *User
	// LimitConnZones are the limit_conn_zone entries, in file order.
	LimitConnZones []LimitConnZone
	// LimitConnStore is limit_conn_store: the redis:// or rediss:// URL
	// of a store shared with other instances that holds the limit_conn
	// counts; empty: they are counted in this process.
	LimitConnStore string
}

// User is the user directive, with the ids looked up at load.
type User struct {
	Name, Group string
	UID, GID    int
}

// Server is one fully resolved server entry: mail-level defaults and nginx
// defaults already applied, every value validated.
type Server struct {
	Line     int    // line of the entry in the file
	Protocol string // imap, pop3, smtp or sieve
	Listen   []Listen

	ServerName string        // default: lower-cased short host name
	Timeout    time.Duration // default 60s
	MaxErrors  int           // default 5

	// AuthHTTP is the auth_http URL, parsed once here by the auth
	// client's own parser; the server hands it to authhttp.NewClient,
	// which resolves a host name.
	AuthHTTP        authhttp.URL
	AuthHTTPHeader  []Header      // in file order
	AuthHTTPTimeout time.Duration // default 60s

	ProxyBuffer           int           // bytes, default 4096
	ProxyTimeout          time.Duration // default 24h
	ProxyPassErrorMessage bool
	ProxyProtocol         string // outbound: "" (off), "v1" (on) or "v2"

	SetRealIPFrom []netip.Prefix

	// SSLCertificate and SSLCertificateKey are file paths, one key per
	// certificate; relative paths are already joined to the directory of
	// the configuration file. Parse loaded them into TLS.
	SSLCertificate    []string
	SSLCertificateKey []string
	SSLProtocols      []string // e.g. ["TLSv1.2","TLSv1.3"] (default)
	SSLCiphers        string   // OpenSSL cipher string; "" (the default): Go's default suites
	StartTLS          StartTLS

	IMAPAuth         []string // lower-case methods (and sasl-ir), default ["plain"]
	IMAPCapabilities []string // default IMAP4 IMAP4rev1 UIDPLUS
	IMAPClientBuffer int      // bytes, default 4096

	POP3Auth         []string // plain apop cram-md5 external, default ["plain"]
	POP3Capabilities []string // default TOP USER UIDL

	SieveAuth         []string // plain login external, default ["plain"]
	SieveCapabilities []string // SIEVE extensions advertised; default: the sieve package's list
	SieveClientBuffer int      // bytes, default 4096

	SMTPAuth          []string      // plain login cram-md5 external none, default ["plain","login"]
	SMTPCapabilities  []string      // default none
	SMTPClientBuffer  int           // bytes, default 4096
	SMTPGreetingDelay time.Duration // default 0 (no delay)
	XClient           bool          // default true
	ProxySMTPAuth     bool          // default false

	// Resolver lists the DNS servers ("IP:PORT") for the SMTP client host
	// lookup; empty means `resolver off`. ResolverIPv4/IPv6 choose the
	// forward lookups (A, AAAA).
	Resolver        []string
	ResolverIPv4    bool
	ResolverIPv6    bool
	ResolverTimeout time.Duration // default 30s

	SSLPasswordFile        string        // passphrases for encrypted keys, one per line
	SSLPreferServerCiphers bool          // default false
	SSLECDHCurve           string        // default "auto"; colon-separated group names
	SSLSessionCache        []string      // default ["none"]; nginx's off | none | builtin[:size] | shared:name:size
	SSLSessionTimeout      time.Duration // default 5m
	SSLSessionTickets      bool          // default true
	SSLSessionTicketKey    []string      // key files (48 or 80 bytes), the first encrypts
	SSLVerifyClient        string        // "off" (default), "on", "optional", "optional_no_ca"
	SSLVerifyDepth         int           // default 1
	SSLClientCertificate   string        // CA file, also sent as acceptable CAs
	SSLTrustedCertificate  string        // CA file used for verification only
	SSLCRL                 string        // CRL file
	AuthHTTPPassClientCert bool          // send Auth-SSL-Cert

	// SNICertificates are certificates chosen by the server name the
	// client asks for (sni_certificates, beyond nginx); SSLCertificate
	// stays the default. Paths are absolute; Parse loaded them into TLS.
	SNICertificates []SNICertificate
	// ProxyProtocolTLVs makes an outbound v2 PROXY header describe a TLS
	// client connection in TLVs (proxy_protocol_tlvs, beyond nginx).
	ProxyProtocolTLVs bool
	// AuthHTTPKeepalive is how many idle connections to the auth service
	// are kept for reuse (auth_http_keepalive, beyond nginx; 0, the
	// default, opens one per request as nginx does), each for at most
	// AuthHTTPKeepaliveTimeout (0, the default: authhttp's 30s).
	AuthHTTPKeepalive        int
	AuthHTTPKeepaliveTimeout time.Duration

	// ErrorLog are the sinks of the server's sessions: the server's
	// error_log, else the mail level's; nil for the top-level sinks.
	ErrorLog []LogSink
	// IMAPID is what mailproxy answers an IMAP ID command with before
	// login (imap_id, beyond nginx): the fields in file order; none
	// (the default) answers "* ID NIL".
	IMAPID []IDField
	// ProxyForward is how the client's address reaches the backend in
	// its own protocol (proxy_forward, beyond nginx): "" (off),
	// "imap_id" (IMAP servers: ID with Dovecot's x-* fields before the
	// login) or "xclient" (POP3 servers: XCLIENT ADDR= PORT= before
	// USER).
	ProxyForward string
	// AuthHTTPPassClientDetails adds Client-Port, Server-Addr,
	// Server-Port and Client-IMAP-ID to the auth request
	// (auth_http_pass_client_details, beyond nginx).
	AuthHTTPPassClientDetails bool
	// LimitConn lists the connection limits (limit_conn), each naming a
	// zone of Config.LimitConnZones; LimitConnLogLevel is the level of
	// the "limiting connections" line (info, notice, warn or error) and
	// LimitConnDryRun only logs. MaxCommands is max_commands (default
	// 1000): commands a client may send before login.
	LimitConn         []LimitConn
	LimitConnLogLevel string
	LimitConnDryRun   bool
	MaxCommands       int

	// TLS is the server's TLS configuration, built by Parse from the
	// ssl_* keys and sni_certificates with every file they name read
	// once (the files the checks above read); nil when the server needs
	// no TLS (NeedsTLS). ClientAuth is its client-certificate policy,
	// nil for ssl_verify_client off. The server uses both as they are:
	// the files are read once per load, and again at each reload.
	TLS        *stdtls.Config
	ClientAuth *mailtls.ClientAuth
	// SSLSessionStore is ssl_session_store: the URL of the store TLS
	// sessions are kept in with ssl_session_tickets off ("": none).
	// TLSSessions are the server-side sessions TLS resumes from (the
	// memory cache or the store), nil when it keeps none.
	SSLSessionStore string
	TLSSessions     *mailtls.Sessions

	// Upstreams are the directives beyond nginx for the backend side and
	// the auth service (upstream.go).
	Upstreams Upstreams
}

// IDField is one field of imap_id: a name and a value, or NIL.
type IDField struct {
	Name  string
	Value string
	Nil   bool // the value is NIL
}

// SNICertificate is one sni_certificates entry.
type SNICertificate struct {
	Names             []string // lower-case host names or "*.domain" wildcards
	SSLCertificate    []string // one key per certificate (e.g. RSA and ECDSA)
	SSLCertificateKey []string
	Line              int
}

// NeedsTLS reports whether the server needs a certificate: a listen with
// ssl or starttls on/only.
func (s *Server) NeedsTLS() bool {
	if s.StartTLS != StartTLSOff {
		return true
	}
	for _, l := range s.Listen {
		if l.SSL {
			return true
		}
	}
	return false
}
