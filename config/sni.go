package config

import (
	yaml "go.yaml.in/yaml/v3"

	mailtls "mailproxy/tls"
)

// sniCertificateList parses sni_certificates: a list of maps
// {names: [...], ssl_certificate: ..., ssl_certificate_key: ...}. Names
// are host names or "*.domain" wildcards, stored lower-case, each at
// most once in the list. Paths stay as written here; resolveSNI makes
// them absolute and loads the pairs.
func sniCertificateList(c *collector, key string, n *yaml.Node) ([]SNICertificate, bool) {
	list, ok := items(c, key, n, false)
	if !ok {
		return nil, false
	}
	out := []SNICertificate{}
	seen := map[string]int{}
	for _, it := range list {
		if it.Kind != yaml.MappingNode {
			c.errorf(it.Line, "%s: each entry must be a map with names, ssl_certificate and ssl_certificate_key, got %s", key, describe(it))
			ok = false
			continue
		}
		e := SNICertificate{Line: it.Line}
		good := true
		for _, p := range mapPairs(c, key, it) {
			var g bool
			switch p.key {
			case "names":
				var toks []token
				toks, g = textList(c, key+" names", p.value, false, false)
				for _, t := range toks {
					name, err := mailtls.CheckServerName(t.s)
					if err != nil {
						c.errorf(t.line, "%s: %v", key, err)
						g = false
						continue
					}
					if first, dup := seen[name]; dup {
						c.errorf(t.line, "%s: server name %q is already given at line %d", key, t.s, first)
						g = false
						continue
					}
					seen[name] = t.line
					e.Names = append(e.Names, name)
				}
			case "ssl_certificate":
				e.SSLCertificate, g = pathList(c, key+" ssl_certificate", p.value)
			case "ssl_certificate_key":
				e.SSLCertificateKey, g = pathList(c, key+" ssl_certificate_key", p.value)
			default:
				c.errorf(p.line, "%s: unknown key %q, expected names, ssl_certificate or ssl_certificate_key", key, p.key)
			}
			good = good && g
		}
		if good && (len(e.Names) == 0 || len(e.SSLCertificate) == 0) {
			c.errorf(it.Line, "%s: an entry needs names and ssl_certificate", key)
			good = false
		}
		if good && len(e.SSLCertificate) != len(e.SSLCertificateKey) {
			c.errorf(it.Line, "%s: each ssl_certificate needs one ssl_certificate_key", key)
			good = false
		}
		if good {
			out = append(out, e)
		}
		ok = ok && good
	}
	return out, ok
}
