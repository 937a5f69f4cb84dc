package authhttp

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
)

// target is a parsed auth_http URL.
type target struct {
	network string // "tcp" or "unix"
	address string // what to dial: "ADDR:PORT" or the socket path
	name    string // nginx's peer name: "ADDR:PORT", "[ADDR]:PORT", "unix:PATH"
	host    string // Host header value
	uri     string // request URI, verbatim
}

// maxUnixPath is sizeof(sun_path) on Linux minus the terminating NUL.
const maxUnixPath = 107

// parseURL parses an auth_http URL as ngx_mail_auth_http + ngx_parse_url
// do (SPEC §9.1, §9.2 row 1), resolving a host name once with lookup and
// keeping its first address.
func parseURL(raw string, lookup func(ctx context.Context, network, host string) ([]netip.Addr, error)) (target, error) {
	var t target
	u := strings.TrimPrefix(raw, "http://")
	if len(u) >= 8 && strings.EqualFold(u[:8], "https://") {
		return t, urlError("https is not supported", raw)
	}

	if len(u) >= 5 && strings.EqualFold(u[:5], "unix:") {
		path := u[5:]
		if i := strings.IndexByte(path, ':'); i >= 0 {
			t.uri = path[i+1:]
			path = path[:i]
		}
		if path == "" {
			return t, urlError("no path in the unix domain socket", raw)
		}
		if len(path) > maxUnixPath {
			return t, urlError("too long path in the unix domain socket", raw)
		}
		t.network, t.address = "unix", path
		t.name = u[:5+len(path)]
		t.host = "localhost"
		t.uri = defaultURI(t.uri)
		return t, nil
	}

	var (
		ip   netip.Addr
		host string
		port = uint16(80)
	)
	if strings.HasPrefix(u, "[") {
		end := strings.IndexByte(u[1:], ']')
		if end < 0 {
			return t, urlError("invalid host", raw)
		}
		end++ // index of ']' in u
		rest := u[end+1:]
		if i := strings.IndexByte(rest, '/'); i >= 0 {
			t.uri, rest = rest[i:], rest[:i]
		}
		if rest != "" {
			if rest[0] != ':' {
				return t, urlError("invalid host", raw)
			}
			n, ok := atoi([]byte(rest[1:]))
			if !ok || n < 1 || n > 65535 {
				return t, urlError("invalid port", raw)
			}
			port = uint16(n)
		}
		if end == 1 {
			return t, urlError("no host", raw)
		}
		a16, ok := parseIPv6([]byte(u[1:end]))
		if !ok {
			return t, urlError("invalid IPv6 address", raw)
		}
		ip, host = netip.AddrFrom16(a16), u[:end+1]
	} else {
		last := len(u)
		colon := strings.IndexByte(u, ':')
		uri := strings.IndexAny(u, "/?")
		if uri >= 0 {
			t.uri, last = u[uri:], uri
			if uri < colon {
				colon = -1
			}
		}
		if colon >= 0 {
			n, ok := atoi([]byte(u[colon+1 : last]))
			if !ok || n < 1 || n > 65535 {
				return t, urlError("invalid port", raw)
			}
			port, last = uint16(n), colon
		}
		host = u[:last]
		if host == "" {
			return t, urlError("no host", raw)
		}
		if v, ok := parseIPv4([]byte(host)); ok {
			ip = netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
		} else {
			addrs, err := lookup(context.Background(), "ip", host)
			if err != nil || len(addrs) == 0 {
				return t, urlError("host not found", raw)
			}
			ip = addrs[0].Unmap()
		}
	}
	ap := netip.AddrPortFrom(ip, port)
	t.network, t.address, t.name = "tcp", ap.String(), ap.String()
	t.host = host
	t.uri = defaultURI(t.uri)
	return t, nil
}

// defaultURI is nginx's "/" for an auth_http URL without a URI.
func defaultURI(uri string) string {
	if uri == "" {
		return "/"
	}
	return uri
}

// urlError words a bad auth_http URL as nginx's configuration error does.
func urlError(msg, raw string) error {
	return errors.New("authhttp: " + msg + ` in auth_http "` + raw + `"`)
}

// defaultLookup resolves host names for NewClient.
var defaultLookup = net.DefaultResolver.LookupNetIP
