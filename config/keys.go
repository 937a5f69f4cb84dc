package config

import (
	"strings"

	yaml "go.yaml.in/yaml/v3"

	mailtls "mailproxy/tls"
)

// Parsers for the values of single directives (enums and lists); the
// generic scalar parsers are in values.go.

// protocolValue parses protocol: imap, pop3, smtp or sieve.
func protocolValue(c *collector, key string, n *yaml.Node) (string, bool) {
	s, ok := text(c, key, n)
	if !ok {
		return "", false
	}
	switch p := strings.ToLower(s); p {
	case "imap", "pop3", "smtp", "sieve":
		return p, true
	}
	c.errorf(n.Line, "%s: unknown protocol %q, expected imap, pop3, smtp or sieve", key, s)
	return "", false
}

// proxyProtocolValue parses the outbound proxy_protocol: off, on (a YAML
// boolean too) or v2, stored as "", "v1" or "v2".
func proxyProtocolValue(c *collector, key string, n *yaml.Node) (string, bool) {
	w, ok := word(c, key, n, "off", "on", "v2")
	switch w {
	case "on":
		return "v1", ok
	case "v2":
		return "v2", ok
	}
	return "", ok
}

// startTLSValue parses starttls: off, on (YAML booleans too) or only.
func startTLSValue(c *collector, key string, n *yaml.Node) (StartTLS, bool) {
	w, ok := word(c, key, n, "off", "on", "only")
	switch w {
	case "on":
		return StartTLSOn, ok
	case "only":
		return StartTLSOnly, ok
	}
	return StartTLSOff, ok
}

// headerMap parses auth_http_header: a map of header name to value, kept
// in file order. Names must be HTTP tokens; values are sent verbatim, so
// only line breaks and NUL are refused. An empty map is allowed (at server
// level it replaces the mail-level headers with none).
func headerMap(c *collector, key string, n *yaml.Node) ([]Header, bool) {
	if isNull(n) {
		c.errorf(lineOf(n), "%s: missing value", key)
		return nil, false
	}
	if n.Kind != yaml.MappingNode {
		c.errorf(n.Line, "%s: expected a map of header name to value, got %s", key, describe(n))
		return nil, false
	}
	ok := true
	out := []Header{}
	for _, p := range mapPairs(c, key, n) {
		if !isToken(p.key) {
			c.errorf(p.line, "%s: invalid header name %q", key, p.key)
			ok = false
			continue
		}
		v, good := text(c, key+" "+p.key, p.value)
		if !good {
			ok = false
			continue
		}
		out = append(out, Header{Name: p.key, Value: v})
	}
	return out, ok
}

// isToken reports whether s is a non-empty HTTP token (RFC 9110 tchar).
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		b := s[i]
		if b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' {
			continue
		}
		if !strings.ContainsRune("!#$%&'*+-.^_`|~", rune(b)) {
			return false
		}
	}
	return true
}

// pathList parses ssl_certificate and ssl_certificate_key: one path or a
// list of paths.
func pathList(c *collector, key string, n *yaml.Node) ([]string, bool) {
	toks, ok := textList(c, key, n, false, false)
	return texts(toks), ok
}

// capabilityList parses imap_capabilities: strings kept verbatim.
func capabilityList(c *collector, key string, n *yaml.Node) ([]string, bool) {
	toks, ok := textList(c, key, n, false, false)
	return texts(toks), ok
}

var (
	sslProtocolNames = []string{"SSLv2", "SSLv3", "TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"}
	imapAuthNames    = []string{"plain", "login", "cram-md5", "external", "xoauth2", "oauthbearer", "sasl-ir"}
	sslProtocolCanon = canonical(sslProtocolNames)
	imapAuthCanon    = canonical(imapAuthNames)
)

// canonical maps the lower-case form of each name to the name.
func canonical(names []string) map[string]string {
	m := make(map[string]string, len(names))
	for _, n := range names {
		m[strings.ToLower(n)] = n
	}
	return m
}

// sslProtocolList parses ssl_protocols (case-insensitive, stored as
// "TLSv1.2" etc.) and checks, where it is written, that Go can honour
// it: no SSLv2/SSLv3, no gap.
func sslProtocolList(c *collector, key string, n *yaml.Node) ([]string, bool) {
	list, ok := keywordSet(c, key, n, sslProtocolCanon, sslProtocolNames)
	if ok {
		if _, _, err := mailtls.ProtocolRange(list); err != nil {
			c.errorf(n.Line, "%s: %s", key, strings.TrimPrefix(err.Error(), "ssl_protocols: "))
			return nil, false
		}
	}
	return list, ok
}

// cipherString parses ssl_ciphers and checks it where it is written,
// with the parser the TLS settings are built with.
func cipherString(c *collector, key string, n *yaml.Node) (string, bool) {
	s, ok := nonEmptyText(c, key, n)
	if ok {
		if _, err := mailtls.ParseCiphers(s); err != nil {
			c.errorf(n.Line, "%v", err)
			return "", false
		}
	}
	return s, ok
}

// curveList parses ssl_ecdh_curve and checks it where it is written.
func curveList(c *collector, key string, n *yaml.Node) (string, bool) {
	s, ok := nonEmptyText(c, key, n)
	if ok {
		if _, err := mailtls.ParseCurves(s); err != nil {
			c.errorf(n.Line, "%v", err)
			return "", false
		}
	}
	return s, ok
}

// imapAuthList parses imap_auth (case-insensitive, stored lower-case).
func imapAuthList(c *collector, key string, n *yaml.Node) ([]string, bool) {
	return keywordSet(c, key, n, imapAuthCanon, imapAuthNames)
}
