package config

import (
	yaml "go.yaml.in/yaml/v3"
)

// Parsers and checks for the keys that carry client details to the
// backend and the auth service: imap_id, proxy_forward (beyond nginx).

// RFC 2971's limits on an ID parameter list.
const (
	maxIDFields    = 30
	maxIDFieldName = 30
	maxIDValue     = 1024
)

// imapIDValue parses imap_id: a map of field name to value (a string, or
// null for NIL), at most 30 fields, names of 1–30 bytes and values of at
// most 1024 bytes (RFC 2971 §3.3); an empty map means NIL.
func imapIDValue(c *collector, key string, n *yaml.Node) ([]IDField, bool) {
	if isNull(n) {
		c.errorf(lineOf(n), "%s: missing value (write {} for NIL)", key)
		return nil, false
	}
	if n.Kind != yaml.MappingNode {
		c.errorf(n.Line, "%s: expected a map of ID field to value, got %s", key, describe(n))
		return nil, false
	}
	ok := true
	out := []IDField{}
	for _, p := range mapPairs(c, key, n) {
		if p.key == "" || len(p.key) > maxIDFieldName || !printableASCII(p.key) {
			c.errorf(p.line, "%s: field name %q must be 1 to %d printable ASCII bytes", key, p.key, maxIDFieldName)
			ok = false
			continue
		}
		if isNull(p.value) {
			out = append(out, IDField{Name: p.key, Nil: true})
			continue
		}
		v, good := text(c, key+" "+p.key, p.value)
		if good && len(v) > maxIDValue {
			c.errorf(p.line, "%s: value of %q is longer than %d bytes", key, p.key, maxIDValue)
			good = false
		}
		if !good {
			ok = false
			continue
		}
		out = append(out, IDField{Name: p.key, Value: v})
	}
	if len(out) > maxIDFields {
		c.errorf(n.Line, "%s: %d fields, at most %d", key, len(out), maxIDFields)
		ok = false
	}
	return out, ok
}

// printableASCII reports whether s holds only bytes 0x20–0x7E.
func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// proxyForwardValue parses proxy_forward: off (a YAML boolean false too),
// imap_id or xclient, stored as "", "imap_id" or "xclient".
func proxyForwardValue(c *collector, key string, n *yaml.Node) (string, bool) {
	w, ok := word(c, key, n, "off", "imap_id", "xclient")
	if w == "off" {
		w = ""
	}
	return w, ok
}

// checkProxyForward refuses a proxy_forward mode the server's protocol
// has no use for: imap_id is IMAP's, xclient POP3's (SMTP has its own
// xclient key). line is the key's line.
func checkProxyForward(c *collector, srv *Server, line int) {
	want := map[string]string{"imap_id": "imap", "xclient": "pop3"}[srv.ProxyForward]
	if want != "" && srv.Protocol != "" && srv.Protocol != want {
		c.errorf(line, "proxy_forward: %s is for %s servers, not %s (server at line %d)", srv.ProxyForward, want, srv.Protocol, srv.Line)
	}
}
