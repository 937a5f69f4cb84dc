package authhttp

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
)

// URL is a parsed auth_http value, as ParseURL accepted it: nothing is
// resolved yet (NewClient resolves a host name). URLs are comparable; the
// zero URL is no URL at all.
type URL struct {
	raw     string
	network string // "tcp" or "unix"
	host    string // Host header value
	uri     string // request URI, verbatim
	https   bool   // https:// (beyond nginx): TLS to the auth server

	// unix
	path string // socket path
	name string // nginx's peer name: "unix:PATH", the prefix as written

	// tcp
	ip       netip.Addr // the address when written as one, else invalid
	hostname string     // the name to resolve when ip is invalid
	port     uint16
}

// URLError is a value ParseURL refuses, or a host name NewClient cannot
// resolve.
type URLError struct {
	URL    string // the auth_http value as given
	Reason string // what is wrong, e.g. "invalid port"
}

// Error words the problem as nginx's configuration error does, prefixed
// with the package name.
func (e *URLError) Error() string {
	return "authhttp: " + e.Reason + ` in auth_http "` + e.URL + `"`
}

// String returns the URL as written.
func (u URL) String() string { return u.raw }

// Network returns "tcp", or "unix" for a unix:/path URL ("" for the zero
// URL).
func (u URL) Network() string { return u.network }

// Host returns the Host header value: the host as written, without the
// port (IPv6 with its brackets), or "localhost" for unix:.
func (u URL) Host() string { return u.host }

// URI returns the request URI: as written, "/" when there is none.
func (u URL) URI() string { return u.uri }

// HTTPS reports an https:// URL: the auth server is reached over TLS.
func (u URL) HTTPS() bool { return u.https }

// maxUnixPath is sizeof(sun_path) on Linux minus the terminating NUL.
const maxUnixPath = 107

// ParseURL parses an auth_http value as ngx_mail_auth_http and
// ngx_parse_url do (SPEC §9.1, §9.2 row 1): an optional "http://" (lower
// case, as nginx strips only that spelling) or, beyond nginx, "https://"
// (lower case too; port 443 by default; not with unix:), then "host[:port][/uri]"
// (port 80 and URI "/" by default; a "?query" also starts the URI and is
// kept verbatim; an IPv6 host is written in brackets and then only "/"
// starts the URI) or "unix:/path[:uri]" ("unix:" in any case).
//
// It accepts what nginx accepts, with two exceptions that nginx would
// turn into a broken request or a failed lookup: white space and control
// characters, and a host name that is not letters, digits, '-' and '_'
// in dot-separated labels. Some refusals are worded more helpfully than
// nginx's "invalid port" or "invalid host": another scheme ("https://",
// "HTTP://", "ftp://"), an IPv6 address without brackets, a missing "]".
//
// ParseURL does no I/O: a host name is resolved by NewClient. Every
// error is a *URLError.
func ParseURL(raw string) (URL, error) {
	bad := func(reason string) (URL, error) {
		return URL{}, &URLError{URL: raw, Reason: reason}
	}
	for i := 0; i < len(raw); i++ {
		if raw[i] <= ' ' || raw[i] == 0x7f {
			return bad("contains white space or a control character")
		}
	}
	u := strings.TrimPrefix(raw, "http://")
	https := false
	if hasPrefixFold(raw, "https://") {
		if !strings.HasPrefix(raw, "https://") {
			return bad(`the scheme must be written in lower case, "https://"`)
		}
		u, https = u[len("https://"):], true
		if hasPrefixFold(u, "unix:") {
			return bad("https:// cannot name a unix domain socket")
		}
	}

	if hasPrefixFold(u, "unix:") {
		path, uri := u[5:], ""
		if i := strings.IndexByte(path, ':'); i >= 0 {
			path, uri = path[:i], path[i+1:]
		}
		if path == "" {
			return bad("no path in the unix domain socket")
		}
		if len(path) > maxUnixPath {
			return bad("too long path in the unix domain socket")
		}
		return URL{raw: raw, network: "unix", host: "localhost", uri: defaultURI(uri), path: path, name: u[:5+len(path)]}, nil
	}
	if scheme, ok := schemeOf(u); ok {
		// nginx reads "scheme" as a host and an empty port.
		if strings.EqualFold(scheme, "http") {
			return bad(`the scheme must be written in lower case, "http://"`)
		}
		return bad("only http:// and https:// are supported")
	}

	t := URL{raw: raw, network: "tcp", port: 80, https: https}
	if https {
		t.port = 443
	}
	if strings.HasPrefix(u, "[") {
		end := strings.IndexByte(u[1:], ']')
		if end < 0 {
			return bad(`missing "]" after the IPv6 address`)
		}
		end++ // index of ']' in u
		rest := u[end+1:]
		if i := strings.IndexByte(rest, '/'); i >= 0 {
			t.uri, rest = rest[i:], rest[:i]
		}
		if rest != "" {
			if rest[0] != ':' {
				return bad(`expected ":" after the IPv6 address`)
			}
			n, ok := atoi([]byte(rest[1:]))
			if !ok || n < 1 || n > 65535 {
				return bad("invalid port")
			}
			t.port = uint16(n)
		}
		if end == 1 {
			return bad("no host")
		}
		a16, ok := parseIPv6([]byte(u[1:end]))
		if !ok {
			return bad("invalid IPv6 address")
		}
		t.ip, t.host = netip.AddrFrom16(a16), u[:end+1]
	} else {
		last := len(u)
		colon := strings.IndexByte(u, ':')
		if uri := strings.IndexAny(u, "/?"); uri >= 0 {
			t.uri, last = u[uri:], uri
			if uri < colon {
				colon = -1
			}
		}
		if colon >= 0 {
			port := u[colon+1 : last]
			if strings.IndexByte(port, ':') >= 0 {
				return bad("IPv6 addresses must be written in brackets")
			}
			n, ok := atoi([]byte(port))
			if !ok || n < 1 || n > 65535 {
				return bad("invalid port")
			}
			t.port, last = uint16(n), colon
		}
		t.host = u[:last]
		if t.host == "" {
			return bad("no host")
		}
		if v, ok := parseIPv4([]byte(t.host)); ok {
			t.ip = netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
		} else if !validHostname(t.host) {
			return bad("invalid host")
		} else {
			t.hostname = t.host
		}
	}
	t.uri = defaultURI(t.uri)
	return t, nil
}

// resolve turns u into the target NewClient dials, resolving a host name
// once with lookup and keeping its first address, as nginx does at
// configuration time.
func (u URL) resolve(lookup func(ctx context.Context, network, host string) ([]netip.Addr, error)) (target, error) {
	switch u.network {
	case "unix":
		return target{network: "unix", address: u.path, name: u.name, host: u.host, uri: u.uri}, nil
	case "tcp":
	default:
		return target{}, errors.New("authhttp: no auth_http URL")
	}
	ip := u.ip
	if !ip.IsValid() {
		addrs, err := lookup(context.Background(), "ip", u.hostname)
		if err != nil || len(addrs) == 0 {
			return target{}, &URLError{URL: u.raw, Reason: "host not found"}
		}
		ip = addrs[0].Unmap()
	}
	ap := netip.AddrPortFrom(ip, u.port).String()
	t := target{network: "tcp", address: ap, name: ap, host: u.host, uri: u.uri}
	if u.https {
		t.serverName = u.hostname
		if t.serverName == "" {
			t.serverName = u.ip.String()
		}
	}
	return t, nil
}

// target is a resolved auth_http URL.
type target struct {
	network string // "tcp" or "unix"
	address string // what to dial: "ADDR:PORT" or the socket path
	name    string // nginx's peer name: "ADDR:PORT", "[ADDR]:PORT", "unix:PATH"
	host    string // Host header value
	uri     string // request URI, verbatim
	// serverName is the name the auth server's certificate must carry
	// (and SNI) for https://; "" for plain HTTP.
	serverName string
}

// hasPrefixFold is strings.HasPrefix ignoring ASCII case.
func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// schemeOf returns the scheme of a text that starts with "scheme://"
// (RFC 3986: a letter, then letters, digits, '+', '-' and '.').
func schemeOf(s string) (string, bool) {
	i := strings.Index(s, "://")
	if i <= 0 {
		return "", false
	}
	for j := 0; j < i; j++ {
		c := s[j]
		letter := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
		if !letter && (j == 0 || !(c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.')) {
			return "", false
		}
	}
	return s[:i], true
}

// ValidHostname reports whether h looks like a host name: dot-separated
// labels of letters, digits, '-' and '_' (a final dot allowed), at most
// 253 bytes. It is the check of auth_http hosts and, with
// Request.ServerNames, of Auth-Server names.
func ValidHostname(h string) bool { return validHostname(h) }

func validHostname(h string) bool {
	if len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(strings.TrimSuffix(h, "."), ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

// defaultURI is nginx's "/" for an auth_http URL without a URI.
func defaultURI(uri string) string {
	if uri == "" {
		return "/"
	}
	return uri
}

// defaultLookup resolves host names for NewClient.
var defaultLookup = net.DefaultResolver.LookupNetIP
