package config

import (
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// Parsers for TLS directives beyond certificates and protocols.

// verifyClientValue parses ssl_verify_client: off, on, optional or
// optional_no_ca (YAML booleans for on/off).
func verifyClientValue(c *collector, key string, n *yaml.Node) (string, bool) {
	return word(c, key, n, "off", "on", "optional", "optional_no_ca")
}

// sessionCacheList parses ssl_session_cache: `off`, `none`, or any of
// `builtin[:size]` and `shared:name:size`, as nginx writes them.
func sessionCacheList(c *collector, key string, n *yaml.Node) ([]string, bool) {
	toks, ok := textList(c, key, n, true, false)
	if !ok {
		return nil, false
	}
	out := texts(toks)
	for _, t := range toks {
		v := t.s
		switch {
		case v == "off" || v == "none":
			if len(toks) != 1 {
				c.errorf(t.line, "%s: %q cannot be combined with other values", key, v)
				ok = false
			}
		case v == "builtin" || strings.HasPrefix(v, "builtin:"):
			if size := strings.TrimPrefix(v, "builtin:"); v != "builtin" && nginxSize(size) <= 0 {
				c.errorf(t.line, "%s: invalid size in %q", key, v)
				ok = false
			}
		case strings.HasPrefix(v, "shared:"):
			parts := strings.Split(v, ":")
			if len(parts) != 3 || parts[1] == "" || nginxSize(parts[2]) <= 0 {
				c.errorf(t.line, "%s: %q must be shared:NAME:SIZE", key, v)
				ok = false
			}
		default:
			c.errorf(t.line, "%s: invalid value %q, expected off, none, builtin[:size] or shared:name:size", key, v)
			ok = false
		}
	}
	return out, ok
}
