package config

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// listenList parses the listen key: a list whose items are an address
// string (optionally followed by the nginx parameters ssl and
// proxy_protocol), a bare port number, or a map
// {address: ..., ssl: bool, proxy_protocol: bool}. Good items are returned
// even when others are bad, so later checks still see them.
func listenList(c *collector, key string, n *yaml.Node) ([]Listen, bool) {
	return itemList(c, key, n, listenItem)
}

// listenItem parses one listen item.
func listenItem(c *collector, key string, n *yaml.Node) (Listen, bool) {
	l := Listen{Line: n.Line}
	if n.Kind == yaml.MappingNode {
		ok := true
		var have bool
		for _, p := range mapPairs(c, key, n) {
			var good bool
			switch p.key {
			case "address":
				have = true
				var s string
				if s, good = text(c, key+" address", p.value); good {
					l.Address, good = listenAddress(c, key, p.value.Line, s)
				}
			case "ssl":
				l.SSL, good = flag(c, key+" ssl", p.value)
			case "proxy_protocol":
				l.ProxyProtocol, good = flag(c, key+" proxy_protocol", p.value)
			default:
				c.errorf(p.line, "%s: unknown key %q, expected address, ssl or proxy_protocol", key, p.key)
			}
			ok = ok && good
		}
		if !have {
			c.errorf(n.Line, "%s: missing address", key)
			ok = false
		}
		return l, ok
	}
	s, ok := text(c, key, n)
	if !ok {
		return l, false
	}
	fields := strings.Fields(s)
	if len(fields) == 0 {
		c.errorf(n.Line, "%s: empty address", key)
		return l, false
	}
	l.Address, ok = listenAddress(c, key, n.Line, fields[0])
	for _, f := range fields[1:] {
		switch f {
		case "ssl":
			l.SSL = true
		case "proxy_protocol":
			l.ProxyProtocol = true
		default:
			c.errorf(n.Line, "%s: invalid parameter %q, expected ssl or proxy_protocol", key, f)
			ok = false
		}
	}
	return l, ok
}

// listenAddress turns "IP:PORT", "[IPv6]:PORT", "*:PORT", ":PORT" or a bare
// PORT into Go's net.Listen form. The wildcard forms become ":PORT" (every
// address, IPv4 and IPv6). Host names and unix sockets are refused. Port 0
// (a free port chosen at bind time) is allowed, for tests.
func listenAddress(c *collector, key string, line int, s string) (string, bool) {
	bad := func(why string) (string, bool) {
		c.errorf(line, "%s: invalid address %q: %s", key, s, why)
		return "", false
	}
	if strings.HasPrefix(strings.ToLower(s), "unix:") {
		return bad("unix sockets are not supported")
	}
	host, port := "", s
	if strings.Contains(s, ":") {
		var err error
		if host, port, err = net.SplitHostPort(s); err != nil {
			return bad("expected IP:PORT, [IPv6]:PORT, *:PORT or PORT")
		}
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil || strings.TrimLeft(port, "0123456789") != "" {
		return bad("invalid port")
	}
	if host == "" || host == "*" {
		return ":" + strconv.FormatUint(p, 10), true
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return bad("host must be an IP address or *")
	}
	return net.JoinHostPort(ip.String(), strconv.FormatUint(p, 10)), true
}

// listenPort returns the port of a listen address in Go form.
func listenPort(addr string) int {
	_, port, _ := net.SplitHostPort(addr)
	p, _ := strconv.Atoi(port)
	return p
}

// wellKnownPorts maps the ports nginx uses to infer a server's protocol.
var wellKnownPorts = map[int]string{
	143: "imap", 993: "imap",
	110: "pop3", 995: "pop3",
	25: "smtp", 465: "smtp", 587: "smtp",
	4190: "sieve",
}

// bindKeys returns the sockets a listen address occupies, for the
// duplicate check: ":PORT" covers both wildcard families, any other
// address only itself. Port 0 occupies nothing (each bind picks a port).
func bindKeys(addr string) []string {
	host, port, _ := net.SplitHostPort(addr)
	if port == "0" {
		return nil
	}
	if host == "" {
		return []string{"0.0.0.0:" + port, "[::]:" + port}
	}
	return []string{addr}
}

// listenSet detects duplicate listen addresses across the whole file.
type listenSet map[string]Listen

// add records l and reports when it takes a socket an earlier entry took.
func (ls listenSet) add(c *collector, l Listen) {
	reported := false
	for _, k := range bindKeys(l.Address) {
		prev, dup := ls[k]
		if !dup {
			ls[k] = l
			continue
		}
		if reported {
			continue
		}
		reported = true
		msg := fmt.Sprintf("duplicate %q address and port pair", l.Address)
		if prev.Address != l.Address {
			msg += fmt.Sprintf(" (overlaps %q at line %d)", prev.Address, prev.Line)
		}
		c.errorf(l.Line, "%s", msg)
	}
}
