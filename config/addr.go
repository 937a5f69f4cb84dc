package config

import (
	"errors"
	"net/netip"
	"strings"

	yaml "go.yaml.in/yaml/v3"

	"mailproxy/authhttp"
)

// authHTTP parses auth_http with authhttp.ParseURL, the parser the auth
// client uses too, and keeps the parsed value for it: a value passes
// here exactly when the server can use it. Parsing does no I/O; a host
// name is looked up by authhttp.NewClient when the server is built (by
// `mailproxy -t` too, as nginx resolves it when reading its
// configuration).
func authHTTP(c *collector, key string, n *yaml.Node) (authhttp.URL, bool) {
	s, ok := nonEmptyText(c, key, n)
	if !ok {
		return authhttp.URL{}, false
	}
	u, err := authhttp.ParseURL(s)
	if err != nil {
		var ue *authhttp.URLError
		if errors.As(err, &ue) {
			c.errorf(n.Line, "%s: invalid URL %q: %s", key, s, ue.Reason)
		} else {
			c.errorf(n.Line, "%s: %v", key, err)
		}
		return authhttp.URL{}, false
	}
	return u, true
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
