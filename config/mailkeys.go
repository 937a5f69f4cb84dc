package config

import (
	"net"
	"net/netip"
	"strings"
	"time"

	yaml "go.yaml.in/yaml/v3"
)

// Parsers for the POP3, SMTP, ManageSieve and resolver directives.

var (
	pop3AuthNames  = []string{"plain", "apop", "cram-md5", "external", "xoauth2", "oauthbearer"}
	smtpAuthNames  = []string{"plain", "login", "cram-md5", "external", "xoauth2", "oauthbearer", "none"}
	sieveAuthNames = []string{"plain", "login", "external", "xoauth2", "oauthbearer"}
	pop3AuthCanon  = canonical(pop3AuthNames)
	smtpAuthCanon  = canonical(smtpAuthNames)
	sieveAuthCanon = canonical(sieveAuthNames)
)

// pop3AuthList parses pop3_auth (case-insensitive, stored lower-case).
func pop3AuthList(c *collector, key string, n *yaml.Node) ([]string, bool) {
	return keywordSet(c, key, n, pop3AuthCanon, pop3AuthNames)
}

// sieveAuthList parses sieve_auth (case-insensitive, stored lower-case).
func sieveAuthList(c *collector, key string, n *yaml.Node) ([]string, bool) {
	return keywordSet(c, key, n, sieveAuthCanon, sieveAuthNames)
}

// smtpAuthList parses smtp_auth (case-insensitive, stored lower-case).
func smtpAuthList(c *collector, key string, n *yaml.Node) ([]string, bool) {
	return keywordSet(c, key, n, smtpAuthCanon, smtpAuthNames)
}

// durationOrZero is duration that also accepts 0 (smtp_greeting_delay).
func durationOrZero(c *collector, key string, n *yaml.Node) (time.Duration, bool) {
	if n != nil && n.Kind == yaml.ScalarNode && (n.Value == "0" || n.Value == "0s" || n.Value == "0ms") {
		return 0, true
	}
	return duration(c, key, n)
}

// resolverSpec is the resolver directive: DNS server addresses and the
// ipv4=/ipv6= switches. The zero value is `resolver off`.
type resolverSpec struct {
	servers        []string
	noIPv4, noIPv6 bool
	valid          time.Duration // valid=: overrides the answers' TTL
}

// resolverValue parses resolver: `off`, or a list of addresses (IP or
// IP:PORT, port 53 by default; IPv6 in brackets) and nginx's parameters
// valid=TIME, ipv4=on|off, ipv6=on|off, status_zone=NAME.
func resolverValue(c *collector, key string, n *yaml.Node) (resolverSpec, bool) {
	toks, ok := textList(c, key, n, true, false)
	if !ok {
		return resolverSpec{}, false
	}
	var r resolverSpec
	if len(toks) == 1 && strings.EqualFold(toks[0].s, "off") {
		return r, true
	}
	for _, t := range toks {
		name, val, isParam := strings.Cut(t.s, "=")
		if isParam {
			switch name {
			case "ipv4", "ipv6":
				if val != "on" && val != "off" {
					c.errorf(t.line, "%s: %s must be on or off, got %q", key, name, val)
					ok = false
				}
				if name == "ipv4" {
					r.noIPv4 = val == "off"
				} else {
					r.noIPv6 = val == "off"
				}
			case "valid":
				d, good := nginxTime(val)
				if !good {
					c.errorf(t.line, "%s: invalid valid=%q", key, val)
					ok = false
				}
				r.valid = d
			case "status_zone":
			default:
				c.errorf(t.line, "%s: unknown parameter %q", key, t.s)
				ok = false
			}
			continue
		}
		addr, good := resolverAddr(t.s)
		if !good {
			c.errorf(t.line, "%s: %q is not an IP address with an optional port", key, t.s)
			ok = false
			continue
		}
		r.servers = append(r.servers, addr)
	}
	if r.noIPv4 && r.noIPv6 {
		c.errorf(n.Line, `%s: "ipv4" and "ipv6" cannot both be "off"`, key)
		ok = false
	}
	if len(r.servers) == 0 && ok {
		c.errorf(n.Line, "%s: no name servers given", key)
		ok = false
	}
	return r, ok
}

// resolverAddr normalises a name server address to IP:PORT.
func resolverAddr(s string) (string, bool) {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.String(), true
	}
	a, err := netip.ParseAddr(strings.Trim(s, "[]"))
	if err != nil || a.Zone() != "" {
		return "", false
	}
	return net.JoinHostPort(a.String(), "53"), true
}
