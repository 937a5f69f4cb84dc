package config

import (
	"net/netip"
	"strings"
	"time"

	yaml "go.yaml.in/yaml/v3"

	"mailproxy/authhttp"
	mailtls "mailproxy/tls"
)

// The upstream directives (beyond nginx's mail module): TLS to backends
// with nginx's stream/http proxy_ssl_* names, failover and host names
// for backends, and the auth service over https://, as a list, with a
// cache. None changes anything when absent.

// Upstreams is what a server's upstream directives resolve to.
type Upstreams struct {
	// ProxySSL is proxy_ssl: "off" (default), "on" (implicit TLS) or
	// "starttls" (STARTTLS/STLS before the login). The auth service may
	// override it per login (Auth-SSL-Backend).
	ProxySSL                   string
	ProxySSLVerify             bool   // default: on when ProxySSLTrustedCertificate is set
	ProxySSLTrustedCertificate string // CA file (absolute path)
	// ProxySSLName is the name the backend's certificate must carry;
	// "" means the backend's host name (Auth-Server) or, for an IP
	// literal, the address.
	ProxySSLName           string
	ProxySSLServerName     bool // send ProxySSLName (or the default) as SNI; default off, as nginx
	ProxySSLCertificate    string
	ProxySSLCertificateKey string
	ProxySSLProtocols      []string // default TLSv1.2 TLSv1.3
	ProxySSLCiphers        string   // default "DEFAULT"
	ProxySSLSessionReuse   bool     // default on

	// ProxyNextUpstreamTries is how many backends one login may try
	// (proxy_next_upstream_tries; default 1: no failover, as nginx).
	ProxyNextUpstreamTries int
	// ProxyResolve lets Auth-Server be a host name (proxy_resolve),
	// looked up with the resolver directive's servers (honouring the
	// TTL, or ResolverValid, resolver's valid=, when set) or else the
	// system's resolver.
	ProxyResolve  bool
	ResolverValid time.Duration

	// AuthHTTPURLs are every auth_http URL, in order (Server.AuthHTTP is
	// the first); several make a list with passive health.
	AuthHTTPURLs        []authhttp.URL
	AuthHTTPFailTimeout time.Duration // default 10s

	AuthHTTPSSLVerify             bool   // default on
	AuthHTTPSSLTrustedCertificate string // CA file; "": the system's roots
	AuthHTTPSSLCertificate        string
	AuthHTTPSSLCertificateKey     string

	AuthHTTPCache          bool
	AuthHTTPCacheSize      int           // entries, default 10000
	AuthHTTPCacheValid     time.Duration // accepted logins, default 1m
	AuthHTTPCacheFailValid time.Duration // refusals without Auth-Wait, default 10s
	AuthHTTPCacheClientIP  bool          // default on

	// BackendTLS is built from the proxy_ssl_* keys for every server,
	// since an auth answer may ask for TLS when proxy_ssl is off.
	// AuthTLS is built from auth_http_ssl_* when an auth_http URL is
	// https:// (else nil).
	BackendTLS *mailtls.ClientTLS
	AuthTLS    *mailtls.ClientTLS
}

// upstreamSettings holds the upstream directives written at one level.
type upstreamSettings struct {
	proxySSL                opt[string]
	proxySSLVerify          opt[bool]
	proxySSLTrusted         opt[string]
	proxySSLName            opt[string]
	proxySSLServerName      opt[bool]
	proxySSLCertificate     opt[string]
	proxySSLCertificateKey  opt[string]
	proxySSLProtocols       opt[[]string]
	proxySSLCiphers         opt[string]
	proxySSLSessionReuse    opt[bool]
	proxyNextUpstreamTries  opt[int]
	proxyResolve            opt[bool]
	authHTTPFailTimeout     opt[time.Duration]
	authHTTPSSLVerify       opt[bool]
	authHTTPSSLTrusted      opt[string]
	authHTTPSSLCertificate  opt[string]
	authHTTPSSLCertKey      opt[string]
	authHTTPCache           opt[bool]
	authHTTPCacheSize       opt[int]
	authHTTPCacheValid      opt[time.Duration]
	authHTTPCacheFailValid  opt[time.Duration]
	authHTTPCacheClientIPOn opt[bool]
}

func up[T any](field func(*upstreamSettings) *opt[T], p parser[T]) directive {
	return bind(false, func(s *settings) *opt[T] { return field(&s.up) }, p)
}

func init() {
	for k, d := range map[string]directive{
		"proxy_ssl":                     up(func(s *upstreamSettings) *opt[string] { return &s.proxySSL }, proxySSLValue),
		"proxy_ssl_verify":              up(func(s *upstreamSettings) *opt[bool] { return &s.proxySSLVerify }, flag),
		"proxy_ssl_trusted_certificate": up(func(s *upstreamSettings) *opt[string] { return &s.proxySSLTrusted }, nonEmptyText),
		"proxy_ssl_name":                up(func(s *upstreamSettings) *opt[string] { return &s.proxySSLName }, serverNameValue),
		"proxy_ssl_server_name":         up(func(s *upstreamSettings) *opt[bool] { return &s.proxySSLServerName }, flag),
		"proxy_ssl_certificate":         up(func(s *upstreamSettings) *opt[string] { return &s.proxySSLCertificate }, nonEmptyText),
		"proxy_ssl_certificate_key":     up(func(s *upstreamSettings) *opt[string] { return &s.proxySSLCertificateKey }, nonEmptyText),
		"proxy_ssl_protocols":           up(func(s *upstreamSettings) *opt[[]string] { return &s.proxySSLProtocols }, sslProtocolList),
		"proxy_ssl_ciphers":             up(func(s *upstreamSettings) *opt[string] { return &s.proxySSLCiphers }, nonEmptyText),
		"proxy_ssl_session_reuse":       up(func(s *upstreamSettings) *opt[bool] { return &s.proxySSLSessionReuse }, flag),
		"proxy_next_upstream_tries":     up(func(s *upstreamSettings) *opt[int] { return &s.proxyNextUpstreamTries }, count),
		"proxy_resolve":                 up(func(s *upstreamSettings) *opt[bool] { return &s.proxyResolve }, flag),

		"auth_http_fail_timeout":            up(func(s *upstreamSettings) *opt[time.Duration] { return &s.authHTTPFailTimeout }, duration),
		"auth_http_ssl_verify":              up(func(s *upstreamSettings) *opt[bool] { return &s.authHTTPSSLVerify }, flag),
		"auth_http_ssl_trusted_certificate": up(func(s *upstreamSettings) *opt[string] { return &s.authHTTPSSLTrusted }, nonEmptyText),
		"auth_http_ssl_certificate":         up(func(s *upstreamSettings) *opt[string] { return &s.authHTTPSSLCertificate }, nonEmptyText),
		"auth_http_ssl_certificate_key":     up(func(s *upstreamSettings) *opt[string] { return &s.authHTTPSSLCertKey }, nonEmptyText),
		"auth_http_cache":                   up(func(s *upstreamSettings) *opt[bool] { return &s.authHTTPCache }, flag),
		"auth_http_cache_size":              up(func(s *upstreamSettings) *opt[int] { return &s.authHTTPCacheSize }, count),
		"auth_http_cache_valid":             up(func(s *upstreamSettings) *opt[time.Duration] { return &s.authHTTPCacheValid }, duration),
		"auth_http_cache_fail_valid":        up(func(s *upstreamSettings) *opt[time.Duration] { return &s.authHTTPCacheFailValid }, durationOrZero),
		"auth_http_cache_client_ip":         up(func(s *upstreamSettings) *opt[bool] { return &s.authHTTPCacheClientIPOn }, flag),
	} {
		directives[k] = d
	}
}

// proxySSLValue parses proxy_ssl: off, on (YAML booleans too) or starttls.
func proxySSLValue(c *collector, key string, n *yaml.Node) (string, bool) {
	return word(c, key, n, "off", "on", "starttls")
}

// serverNameValue parses proxy_ssl_name: a host name or an IP literal.
func serverNameValue(c *collector, key string, n *yaml.Node) (string, bool) {
	s, ok := nonEmptyText(c, key, n)
	if !ok {
		return "", false
	}
	if _, err := netip.ParseAddr(s); err != nil && !authhttp.ValidHostname(s) {
		c.errorf(n.Line, "%s: %q is not a host name or an IP address", key, s)
		return "", false
	}
	return strings.ToLower(s), true
}

// authHTTPList parses auth_http: one URL, or a list of URLs (beyond
// nginx) asked in order. Each is judged by the auth client's own parser.
func authHTTPList(c *collector, key string, n *yaml.Node) ([]authhttp.URL, bool) {
	if n != nil && n.Kind == yaml.SequenceNode {
		if len(n.Content) == 0 {
			c.errorf(n.Line, "%s: must not be empty", key)
			return nil, false
		}
		var out []authhttp.URL
		ok := true
		seen := map[string]int{}
		for _, it := range n.Content {
			it = deref(it)
			u, good := authHTTP(c, key, it)
			if !good {
				ok = false
				continue
			}
			if first, dup := seen[u.String()]; dup {
				c.errorf(it.Line, "%s: %q is listed twice (first at line %d)", key, u.String(), first)
				ok = false
				continue
			}
			seen[u.String()] = it.Line
			out = append(out, u)
		}
		return out, ok
	}
	u, ok := authHTTP(c, key, n)
	if !ok {
		return nil, false
	}
	return []authhttp.URL{u}, true
}

// or applies nginx inheritance to every upstream directive: u is the
// server's level, m the mail level.
func (u upstreamSettings) or(m upstreamSettings) upstreamSettings {
	return upstreamSettings{
		proxySSL:                u.proxySSL.or(m.proxySSL),
		proxySSLVerify:          u.proxySSLVerify.or(m.proxySSLVerify),
		proxySSLTrusted:         u.proxySSLTrusted.or(m.proxySSLTrusted),
		proxySSLName:            u.proxySSLName.or(m.proxySSLName),
		proxySSLServerName:      u.proxySSLServerName.or(m.proxySSLServerName),
		proxySSLCertificate:     u.proxySSLCertificate.or(m.proxySSLCertificate),
		proxySSLCertificateKey:  u.proxySSLCertificateKey.or(m.proxySSLCertificateKey),
		proxySSLProtocols:       u.proxySSLProtocols.or(m.proxySSLProtocols),
		proxySSLCiphers:         u.proxySSLCiphers.or(m.proxySSLCiphers),
		proxySSLSessionReuse:    u.proxySSLSessionReuse.or(m.proxySSLSessionReuse),
		proxyNextUpstreamTries:  u.proxyNextUpstreamTries.or(m.proxyNextUpstreamTries),
		proxyResolve:            u.proxyResolve.or(m.proxyResolve),
		authHTTPFailTimeout:     u.authHTTPFailTimeout.or(m.authHTTPFailTimeout),
		authHTTPSSLVerify:       u.authHTTPSSLVerify.or(m.authHTTPSSLVerify),
		authHTTPSSLTrusted:      u.authHTTPSSLTrusted.or(m.authHTTPSSLTrusted),
		authHTTPSSLCertificate:  u.authHTTPSSLCertificate.or(m.authHTTPSSLCertificate),
		authHTTPSSLCertKey:      u.authHTTPSSLCertKey.or(m.authHTTPSSLCertKey),
		authHTTPCache:           u.authHTTPCache.or(m.authHTTPCache),
		authHTTPCacheSize:       u.authHTTPCacheSize.or(m.authHTTPCacheSize),
		authHTTPCacheValid:      u.authHTTPCacheValid.or(m.authHTTPCacheValid),
		authHTTPCacheFailValid:  u.authHTTPCacheFailValid.or(m.authHTTPCacheFailValid),
		authHTTPCacheClientIPOn: u.authHTTPCacheClientIPOn.or(m.authHTTPCacheClientIPOn),
	}
}

// maxNextUpstreamTries bounds proxy_next_upstream_tries: each try is an
// auth request and a backend connection.
const maxNextUpstreamTries = 16

// resolveUpstreams applies inheritance to the upstream directives of a
// server, checks their combinations and loads their files (each once,
// through e.tls), reporting every problem at its line.
func resolveUpstreams(c *collector, e *env, srv *Server, urls opt[[]authhttp.URL], s upstreamSettings) {
	u := &srv.Upstreams
	u.AuthHTTPURLs = urls.v
	u.ProxySSL = s.proxySSL.get("off")
	u.ProxySSLTrustedCertificate = absPath(e.dir, s.proxySSLTrusted.get(""))
	u.ProxySSLVerify = s.proxySSLVerify.get(u.ProxySSLTrustedCertificate != "")
	u.ProxySSLName = s.proxySSLName.get("")
	u.ProxySSLServerName = s.proxySSLServerName.get(false)
	u.ProxySSLCertificate = absPath(e.dir, s.proxySSLCertificate.get(""))
	u.ProxySSLCertificateKey = absPath(e.dir, s.proxySSLCertificateKey.get(""))
	u.ProxySSLProtocols = s.proxySSLProtocols.get(defaultSSLProtocols)
	u.ProxySSLCiphers = s.proxySSLCiphers.get("DEFAULT")
	u.ProxySSLSessionReuse = s.proxySSLSessionReuse.get(true)
	u.ProxyNextUpstreamTries = s.proxyNextUpstreamTries.get(1)
	u.ProxyResolve = s.proxyResolve.get(false)
	u.AuthHTTPFailTimeout = s.authHTTPFailTimeout.get(authhttp.DefaultFailTimeout)
	u.AuthHTTPSSLVerify = s.authHTTPSSLVerify.get(true)
	u.AuthHTTPSSLTrustedCertificate = absPath(e.dir, s.authHTTPSSLTrusted.get(""))
	u.AuthHTTPSSLCertificate = absPath(e.dir, s.authHTTPSSLCertificate.get(""))
	u.AuthHTTPSSLCertificateKey = absPath(e.dir, s.authHTTPSSLCertKey.get(""))
	u.AuthHTTPCache = s.authHTTPCache.get(false)
	u.AuthHTTPCacheSize = s.authHTTPCacheSize.get(authhttp.DefaultCacheEntries)
	u.AuthHTTPCacheValid = s.authHTTPCacheValid.get(time.Minute)
	u.AuthHTTPCacheFailValid = s.authHTTPCacheFailValid.get(10 * time.Second)
	u.AuthHTTPCacheClientIP = s.authHTTPCacheClientIPOn.get(true)

	if t := s.proxyNextUpstreamTries; t.set && (t.v < 1 || t.v > maxNextUpstreamTries) {
		c.errorf(t.line, "proxy_next_upstream_tries: %d is out of range, expected 1 to %d", t.v, maxNextUpstreamTries)
	}
	if z := s.authHTTPCacheSize; z.set && z.v < 1 {
		c.errorf(z.line, "auth_http_cache_size: must be at least 1")
	}
	if v := s.proxySSLVerify; v.set && v.v && u.ProxySSLTrustedCertificate == "" && !s.proxySSLTrusted.bad {
		c.errorf(v.line, "no proxy_ssl_trusted_certificate for proxy_ssl_verify")
	}
	pairProblem(c, "proxy_ssl_certificate", s.proxySSLCertificate, "proxy_ssl_certificate_key", s.proxySSLCertificateKey)
	pairProblem(c, "auth_http_ssl_certificate", s.authHTTPSSLCertificate, "auth_http_ssl_certificate_key", s.authHTTPSSLCertKey)
	if cp := s.proxySSLCiphers; cp.set {
		if _, err := mailtls.ParseCiphers(cp.v); err != nil {
			c.errorf(cp.line, "proxy_%v", err)
		}
	}

	https := false
	for _, au := range u.AuthHTTPURLs {
		https = https || au.HTTPS()
	}
	if !https && !urls.bad {
		for _, o := range []struct {
			key string
			set bool
			ln  int
		}{
			{"auth_http_ssl_verify", s.authHTTPSSLVerify.set, s.authHTTPSSLVerify.line},
			{"auth_http_ssl_trusted_certificate", s.authHTTPSSLTrusted.set, s.authHTTPSSLTrusted.line},
			{"auth_http_ssl_certificate", s.authHTTPSSLCertificate.set, s.authHTTPSSLCertificate.line},
			{"auth_http_ssl_certificate_key", s.authHTTPSSLCertKey.set, s.authHTTPSSLCertKey.line},
		} {
			if o.set {
				c.errorf(o.ln, "%s: no auth_http URL of this server is https://", o.key)
			}
		}
	}
	if failedAny(s) {
		return
	}
	// The files, each read once per load (the builds below reuse the
	// reads), reported at their lines.
	bad := false
	check := func(err error, line int, format string, args ...any) {
		if err != nil {
			c.errorf(line, format+": %v", append(args, err)...)
			bad = true
		}
	}
	for _, ca := range []struct {
		key, path string
		line      int
		used      bool
	}{
		{"proxy_ssl_trusted_certificate", u.ProxySSLTrustedCertificate, s.proxySSLTrusted.line, true},
		{"auth_http_ssl_trusted_certificate", u.AuthHTTPSSLTrustedCertificate, s.authHTTPSSLTrusted.line, https},
	} {
		if ca.path != "" && ca.used {
			_, err := e.tls.Certificates(ca.path)
			check(err, ca.line, "%s", ca.key)
		}
	}
	for _, p := range []struct {
		key, cert, certKey string
		line               int
	}{
		{"proxy_ssl_certificate", u.ProxySSLCertificate, u.ProxySSLCertificateKey, s.proxySSLCertificate.line},
		{"auth_http_ssl_certificate", u.AuthHTTPSSLCertificate, u.AuthHTTPSSLCertificateKey, s.authHTTPSSLCertificate.line},
	} {
		if p.cert != "" && p.certKey != "" {
			_, err := e.tls.KeyPair(p.cert, p.certKey, nil)
			check(err, p.line, "%s: cannot load certificate %q with key %q", p.key, p.cert, p.certKey)
		}
	}
	if pr := s.proxySSLProtocols; pr.set {
		check(mailtls.CheckProtocols(pr.v), pr.line, "proxy_ssl_protocols")
	}
	if bad || len(c.probs) > 0 {
		return
	}
	var err error
	u.BackendTLS, err = e.tls.ClientTLS(mailtls.ClientSettings{
		Verify:             u.ProxySSLVerify,
		TrustedCertificate: u.ProxySSLTrustedCertificate,
		Certificate:        u.ProxySSLCertificate,
		Key:                u.ProxySSLCertificateKey,
		Protocols:          u.ProxySSLProtocols,
		Ciphers:            u.ProxySSLCiphers,
		SessionReuse:       u.ProxySSLSessionReuse,
	})
	check(err, srv.Line, "proxy_ssl")
	if https {
		u.AuthTLS, err = e.tls.ClientTLS(mailtls.ClientSettings{
			Verify:             u.AuthHTTPSSLVerify,
			TrustedCertificate: u.AuthHTTPSSLTrustedCertificate,
			Certificate:        u.AuthHTTPSSLCertificate,
			Key:                u.AuthHTTPSSLCertificateKey,
			SessionReuse:       true,
		})
		check(err, urls.line, "auth_http_ssl")
	}
}

// failedAny reports whether a value of s was already refused (its file
// would be judged on a value that is not the file's).
func failedAny(s upstreamSettings) bool {
	return s.proxySSLTrusted.bad || s.proxySSLCertificate.bad || s.proxySSLCertificateKey.bad ||
		s.proxySSLProtocols.bad || s.proxySSLCiphers.bad || s.authHTTPSSLTrusted.bad ||
		s.authHTTPSSLCertificate.bad || s.authHTTPSSLCertKey.bad
}

// pairProblem reports a certificate without its key, or a key without
// its certificate.
func pairProblem(c *collector, certKey string, cert opt[string], keyKey string, key opt[string]) {
	switch {
	case cert.set && !key.set && !key.bad:
		c.errorf(cert.line, "no %q is defined for %s %q", keyKey, certKey, cert.v)
	case key.set && !cert.set && !cert.bad:
		c.errorf(key.line, "no %q is defined for %s %q", certKey, keyKey, key.v)
	}
}
