package config

import (
	"net/netip"
	"time"

	yaml "go.yaml.in/yaml/v3"

	"mailproxy/authhttp"
)

// opt is one directive's value at one level (mail or server).
type opt[T any] struct {
	v    T
	line int  // line of the key
	set  bool // present and valid
	bad  bool // present but invalid (already reported)
}

// or implements nginx inheritance: o (the server level) wins when present,
// even when invalid, so that a bad value is not replaced by the parent's.
func (o opt[T]) or(parent opt[T]) opt[T] {
	if o.set || o.bad {
		return o
	}
	return parent
}

// get returns the value, or def when it is not set.
func (o opt[T]) get(def T) T {
	if o.set {
		return o.v
	}
	return def
}

// settings holds the directives written at one level. List values are
// whole lists: inheritance never merges them.
type settings struct {
	protocol opt[string]
	listen   opt[[]Listen]

	serverName opt[string]
	timeout    opt[time.Duration]
	maxErrors  opt[int]

	authHTTP        opt[[]authhttp.URL]
	authHTTPHeader  opt[[]Header]
	authHTTPTimeout opt[time.Duration]

	proxy                 opt[bool]
	proxyBuffer           opt[int]
	proxyTimeout          opt[time.Duration]
	proxyPassErrorMessage opt[bool]
	proxyProtocol         opt[string]

	setRealIPFrom opt[[]netip.Prefix]

	sslCertificate    opt[[]string]
	sslCertificateKey opt[[]string]
	sslProtocols      opt[[]string]
	sslCiphers        opt[string]
	startTLS          opt[StartTLS]

	imapAuth         opt[[]string]
	imapCapabilities opt[[]string]
	imapClientBuffer opt[int]

	pop3Auth         opt[[]string]
	pop3Capabilities opt[[]string]

	sieveAuth         opt[[]string]
	sieveCapabilities opt[[]string]
	sieveClientBuffer opt[int]

	smtpAuth          opt[[]string]
	smtpCapabilities  opt[[]string]
	smtpClientBuffer  opt[int]
	smtpGreetingDelay opt[time.Duration]
	xclient           opt[bool]
	proxySMTPAuth     opt[bool]

	resolver        opt[resolverSpec]
	resolverTimeout opt[time.Duration]

	sslPasswordFile        opt[string]
	sslPreferServerCiphers opt[bool]
	sslECDHCurve           opt[string]
	sslSessionCache        opt[[]string]
	sslSessionTimeout      opt[time.Duration]
	sslSessionTickets      opt[bool]
	sslSessionTicketKey    opt[[]string]
	sslVerifyClient        opt[string]
	sslVerifyDepth         opt[int]
	sslClientCertificate   opt[string]
	sslTrustedCertificate  opt[string]
	sslCRL                 opt[string]
	authHTTPPassClientCert opt[bool]
	sniCertificates        opt[[]SNICertificate]
	proxyProtocolTLVs      opt[bool]
	authHTTPKeepalive      opt[int]
	authHTTPKeepaliveTime  opt[time.Duration]
	errorLog               opt[[]LogSink]

	imapID                    opt[[]IDField]
	proxyForward              opt[string]
	authHTTPPassClientDetails opt[bool]

	up upstreamSettings // upstream.go

	limitConn         opt[[]LimitConn]
	limitConnLogLevel opt[string]
	limitConnDryRun   opt[bool]
	maxCommands       opt[int]

	sslSessionStore opt[string]
	loginThrottle   opt[*LoginThrottle] // throttle.go; mail only
}

// parser parses one directive value; see values.go.
type parser[T any] func(c *collector, key string, n *yaml.Node) (T, bool)

// directive describes one key of the schema.
type directive struct {
	serverOnly bool
	store      func(c *collector, s *settings, key string, line int, n *yaml.Node)
}

// bind makes a directive that parses its value with p into the field that
// field selects.
func bind[T any](serverOnly bool, field func(*settings) *opt[T], p parser[T]) directive {
	return directive{serverOnly, func(c *collector, s *settings, key string, line int, n *yaml.Node) {
		v, ok := p(c, key, n)
		*field(s) = opt[T]{v: v, line: line, set: ok, bad: !ok}
	}}
}

// directives is the schema: every key allowed in `mail` and in a server.
var directives = map[string]directive{
	"protocol": bind(true, func(s *settings) *opt[string] { return &s.protocol }, protocolValue),
	"listen":   bind(true, func(s *settings) *opt[[]Listen] { return &s.listen }, listenList),

	"server_name": bind(false, func(s *settings) *opt[string] { return &s.serverName }, text),
	"timeout":     bind(false, func(s *settings) *opt[time.Duration] { return &s.timeout }, duration),
	"max_errors":  bind(false, func(s *settings) *opt[int] { return &s.maxErrors }, count),

	"auth_http":         bind(false, func(s *settings) *opt[[]authhttp.URL] { return &s.authHTTP }, authHTTPList),
	"auth_http_header":  bind(false, func(s *settings) *opt[[]Header] { return &s.authHTTPHeader }, headerMap),
	"auth_http_timeout": bind(false, func(s *settings) *opt[time.Duration] { return &s.authHTTPTimeout }, duration),

	"proxy":                    bind(false, func(s *settings) *opt[bool] { return &s.proxy }, flag),
	"proxy_buffer":             bind(false, func(s *settings) *opt[int] { return &s.proxyBuffer }, size),
	"proxy_timeout":            bind(false, func(s *settings) *opt[time.Duration] { return &s.proxyTimeout }, duration),
	"proxy_pass_error_message": bind(false, func(s *settings) *opt[bool] { return &s.proxyPassErrorMessage }, flag),
	"proxy_protocol":           bind(false, func(s *settings) *opt[string] { return &s.proxyProtocol }, proxyProtocolValue),

	"set_real_ip_from": bind(false, func(s *settings) *opt[[]netip.Prefix] { return &s.setRealIPFrom }, realIPList),

	"ssl_certificate":     bind(false, func(s *settings) *opt[[]string] { return &s.sslCertificate }, pathList),
	"ssl_certificate_key": bind(false, func(s *settings) *opt[[]string] { return &s.sslCertificateKey }, pathList),
	"ssl_protocols":       bind(false, func(s *settings) *opt[[]string] { return &s.sslProtocols }, sslProtocolList),
	"ssl_ciphers":         bind(false, func(s *settings) *opt[string] { return &s.sslCiphers }, cipherString),
	"starttls":            bind(false, func(s *settings) *opt[StartTLS] { return &s.startTLS }, startTLSValue),

	"imap_auth":          bind(false, func(s *settings) *opt[[]string] { return &s.imapAuth }, imapAuthList),
	"imap_capabilities":  bind(false, func(s *settings) *opt[[]string] { return &s.imapCapabilities }, capabilityList),
	"imap_client_buffer": bind(false, func(s *settings) *opt[int] { return &s.imapClientBuffer }, size),

	"pop3_auth":         bind(false, func(s *settings) *opt[[]string] { return &s.pop3Auth }, pop3AuthList),
	"pop3_capabilities": bind(false, func(s *settings) *opt[[]string] { return &s.pop3Capabilities }, capabilityList),

	"sieve_auth":          bind(false, func(s *settings) *opt[[]string] { return &s.sieveAuth }, sieveAuthList),
	"sieve_capabilities":  bind(false, func(s *settings) *opt[[]string] { return &s.sieveCapabilities }, capabilityList),
	"sieve_client_buffer": bind(false, func(s *settings) *opt[int] { return &s.sieveClientBuffer }, size),

	"smtp_auth":           bind(false, func(s *settings) *opt[[]string] { return &s.smtpAuth }, smtpAuthList),
	"smtp_capabilities":   bind(false, func(s *settings) *opt[[]string] { return &s.smtpCapabilities }, capabilityList),
	"smtp_client_buffer":  bind(false, func(s *settings) *opt[int] { return &s.smtpClientBuffer }, size),
	"smtp_greeting_delay": bind(false, func(s *settings) *opt[time.Duration] { return &s.smtpGreetingDelay }, durationOrZero),
	"xclient":             bind(false, func(s *settings) *opt[bool] { return &s.xclient }, flag),
	"proxy_smtp_auth":     bind(false, func(s *settings) *opt[bool] { return &s.proxySMTPAuth }, flag),

	"resolver":         bind(false, func(s *settings) *opt[resolverSpec] { return &s.resolver }, resolverValue),
	"resolver_timeout": bind(false, func(s *settings) *opt[time.Duration] { return &s.resolverTimeout }, duration),

	"ssl_password_file":           bind(false, func(s *settings) *opt[string] { return &s.sslPasswordFile }, nonEmptyText),
	"ssl_prefer_server_ciphers":   bind(false, func(s *settings) *opt[bool] { return &s.sslPreferServerCiphers }, flag),
	"ssl_ecdh_curve":              bind(false, func(s *settings) *opt[string] { return &s.sslECDHCurve }, curveList),
	"ssl_session_cache":           bind(false, func(s *settings) *opt[[]string] { return &s.sslSessionCache }, sessionCacheList),
	"ssl_session_timeout":         bind(false, func(s *settings) *opt[time.Duration] { return &s.sslSessionTimeout }, duration),
	"ssl_session_tickets":         bind(false, func(s *settings) *opt[bool] { return &s.sslSessionTickets }, flag),
	"ssl_session_ticket_key":      bind(false, func(s *settings) *opt[[]string] { return &s.sslSessionTicketKey }, pathList),
	"ssl_verify_client":           bind(false, func(s *settings) *opt[string] { return &s.sslVerifyClient }, verifyClientValue),
	"ssl_verify_depth":            bind(false, func(s *settings) *opt[int] { return &s.sslVerifyDepth }, count),
	"ssl_client_certificate":      bind(false, func(s *settings) *opt[string] { return &s.sslClientCertificate }, nonEmptyText),
	"ssl_trusted_certificate":     bind(false, func(s *settings) *opt[string] { return &s.sslTrustedCertificate }, nonEmptyText),
	"ssl_crl":                     bind(false, func(s *settings) *opt[string] { return &s.sslCRL }, nonEmptyText),
	"auth_http_pass_client_cert":  bind(false, func(s *settings) *opt[bool] { return &s.authHTTPPassClientCert }, flag),
	"sni_certificates":            bind(false, func(s *settings) *opt[[]SNICertificate] { return &s.sniCertificates }, sniCertificateList),
	"proxy_protocol_tlvs":         bind(false, func(s *settings) *opt[bool] { return &s.proxyProtocolTLVs }, flag),
	"auth_http_keepalive":         bind(false, func(s *settings) *opt[int] { return &s.authHTTPKeepalive }, count),
	"auth_http_keepalive_timeout": bind(false, func(s *settings) *opt[time.Duration] { return &s.authHTTPKeepaliveTime }, duration),
	"error_log":                   bind(false, func(s *settings) *opt[[]LogSink] { return &s.errorLog }, errorLogList),

	"imap_id":                       bind(false, func(s *settings) *opt[[]IDField] { return &s.imapID }, imapIDValue),
	"proxy_forward":                 bind(false, func(s *settings) *opt[string] { return &s.proxyForward }, proxyForwardValue),
	"auth_http_pass_client_details": bind(false, func(s *settings) *opt[bool] { return &s.authHTTPPassClientDetails }, flag),

	"limit_conn":           bind(false, func(s *settings) *opt[[]LimitConn] { return &s.limitConn }, limitConnList),
	"limit_conn_log_level": bind(false, func(s *settings) *opt[string] { return &s.limitConnLogLevel }, logLevelValue),
	"limit_conn_dry_run":   bind(false, func(s *settings) *opt[bool] { return &s.limitConnDryRun }, flag),
	"max_commands":         bind(false, func(s *settings) *opt[int] { return &s.maxCommands }, maxCommandsValue),

	"ssl_session_store": bind(false, func(s *settings) *opt[string] { return &s.sslSessionStore }, sessionStoreURL),
	"login_throttle":    bind(false, func(s *settings) *opt[*LoginThrottle] { return &s.loginThrottle }, loginThrottleValue),
}

// unsupported lists nginx mail directives that are not implemented, so a
// converted nginx configuration gets a clearer message than "unknown key".
var unsupported = map[string]bool{
	"ssl": true, "ssl_certificate_compression": true,
	"ssl_dhparam": true, "ssl_conf_command": true,
}

// readSettings reads the directives of the `mail` map (server false) or of
// one server entry. n must be a map node.
func readSettings(c *collector, what string, n *yaml.Node, server bool) settings {
	var s settings
	for _, p := range mapPairs(c, what, n) {
		d, known := directives[p.key]
		switch {
		case !known && unsupported[p.key]:
			c.errorf(p.line, "%s: key %q (an nginx directive) is not supported", what, p.key)
		case !known:
			c.errorf(p.line, "%s: unknown key %q", what, p.key)
		case d.serverOnly && !server:
			c.errorf(p.line, "%s: key %q is only allowed in a server", what, p.key)
		default:
			d.store(c, &s, p.key, p.line, p.value)
		}
	}
	return s
}
