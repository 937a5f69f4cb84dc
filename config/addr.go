package config

import (
	"net"
	"net/netip"
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// authURL is a parsed auth_http value.
type authURL struct {
	raw     string // as written
	network string // "tcp" or "unix"
	addr    string // "host:port" to dial, or the socket path
	host    string // Host header value
	uri     string // request URI, default "/"
}

// authHTTP parses auth_http as nginx does: an optional http:// prefix, then
// host[:port][/uri] (IPv6 in brackets, default port 80, default URI /) or
// unix:/path[:/uri]. https:// is refused: nginx speaks plain HTTP only.
func authHTTP(c *collector, key string, n *yaml.Node) (authURL, bool) {
	s, ok := nonEmptyText(c, key, n)
	if !ok {
		return authURL{}, false
	}
	bad := func(why string) (authURL, bool) {
		c.errorf(n.Line, "%s: invalid URL %q: %s", key, s, why)
		return authURL{}, false
	}
	rest := s
	switch lower := strings.ToLower(s); {
	case strings.HasPrefix(lower, "https://"):
		return bad("https is not supported, the auth server is reached over plain HTTP (http://)")
	case strings.HasPrefix(lower, "http://"):
		rest = s[len("http://"):]
	case strings.Contains(s, "://"):
		return bad("only http:// is supported")
	}
	for _, r := range rest {
		if r <= ' ' || r == 0x7f {
			return bad("contains white space or a control character")
		}
	}
	if strings.HasPrefix(strings.ToLower(rest), "unix:") {
		path, uri, _ := strings.Cut(rest[len("unix:"):], ":")
		if path == "" {
			return bad("missing socket path")
		}
		if uri == "" {
			uri = "/"
		}
		if uri[0] != '/' {
			return bad("the URI must start with /")
		}
		return authURL{raw: s, network: "unix", addr: path, host: "localhost", uri: uri}, true
	}
	hostport, uri := rest, "/"
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		hostport, uri = rest[:i], rest[i:]
	}
	host, port := hostport, "80"
	dial := host
	if strings.HasPrefix(hostport, "[") {
		end := strings.IndexByte(hostport, ']')
		if end < 0 {
			return bad(`missing "]" after the IPv6 address`)
		}
		ip, err := netip.ParseAddr(hostport[1:end])
		if err != nil || !ip.Is6() {
			return bad("invalid IPv6 address")
		}
		host, dial = hostport[:end+1], hostport[1:end]
		switch after := hostport[end+1:]; {
		case after == "":
		case after[0] == ':':
			port = after[1:]
		default:
			return bad(`expected ":" after the IPv6 address`)
		}
	} else {
		if strings.Count(hostport, ":") > 1 {
			return bad("IPv6 addresses must be written in brackets")
		}
		if h, p, found := strings.Cut(hostport, ":"); found {
			host, port, dial = h, p, h
		}
		if !validHost(host) {
			return bad("invalid host")
		}
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil || p == 0 || strings.TrimLeft(port, "0123456789") != "" {
		return bad("invalid port")
	}
	return authURL{raw: s, network: "tcp", addr: net.JoinHostPort(dial, strconv.FormatUint(p, 10)), host: host, uri: uri}, true
}

// validHost reports whether h looks like a host name or IPv4 address:
// dot-separated labels of letters, digits, '-' and '_'.
func validHost(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(strings.TrimSuffix(h, "."), ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
				return false
			}
		}
	}
	return true
}

// realIPList parses set_real_ip_from: IP addresses and CIDRs, one string or
// a list. A bare address becomes a /32 or /128; a CIDR with host bits set is
// masked (nginx only warns). An empty list is allowed: at server level it
// replaces the mail-level list with nothing.
func realIPList(c *collector, key string, n *yaml.Node) ([]netip.Prefix, bool) {
	toks, ok := textList(c, key, n, false, true)
	if !ok {
		return nil, false
	}
	out := []netip.Prefix{}
	for _, t := range toks {
		if strings.HasPrefix(strings.ToLower(t.s), "unix:") {
			c.errorf(t.line, "%s: %q is not supported (no unix socket listeners)", key, t.s)
			ok = false
			continue
		}
		if strings.Contains(t.s, "/") {
			p, err := netip.ParsePrefix(t.s)
			if err != nil {
				c.errorf(t.line, "%s: invalid CIDR %q", key, t.s)
				ok = false
				continue
			}
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(t.s)
		if err != nil || a.Zone() != "" {
			c.errorf(t.line, "%s: invalid address %q, expected an IP address or CIDR", key, t.s)
			ok = false
			continue
		}
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, ok
}
