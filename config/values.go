package config

import (
	"math"
	"strconv"
	"strings"
	"time"

	yaml "go.yaml.in/yaml/v3"
)

// Scalar value parsers. Each takes the key (for messages) and the value
// node (aliases already followed), records a problem and returns false when
// the value is unusable.

// text returns a scalar as written. Strings and numbers are accepted (a
// number is kept verbatim); null, booleans, lists and maps are not. CR, LF
// and NUL are refused because every text value ends up in a protocol line.
func text(c *collector, key string, n *yaml.Node) (string, bool) {
	if isNull(n) {
		c.errorf(lineOf(n), "%s: missing value", key)
		return "", false
	}
	if n.Kind != yaml.ScalarNode {
		c.errorf(n.Line, "%s: expected a string, got %s", key, describe(n))
		return "", false
	}
	switch n.ShortTag() {
	case "!!str", "!!int", "!!float":
	default:
		c.errorf(n.Line, "%s: expected a string, got %s", key, describe(n))
		return "", false
	}
	if strings.ContainsAny(n.Value, "\r\n\x00") {
		c.errorf(n.Line, "%s: %q contains a line break or NUL", key, n.Value)
		return "", false
	}
	return n.Value, true
}

// nonEmptyText is text that must not be empty.
func nonEmptyText(c *collector, key string, n *yaml.Node) (string, bool) {
	s, ok := text(c, key, n)
	if ok && s == "" {
		c.errorf(n.Line, "%s: must not be empty", key)
		return "", false
	}
	return s, ok
}

// word returns a scalar that must be one of choices (case-insensitive),
// lower-cased. A YAML boolean is turned into "on" or "off" first, so that
// `on`/`off` written by YAML 1.1 tools (or `true`/`false`) work for nginx
// on|off keywords.
func word(c *collector, key string, n *yaml.Node, choices ...string) (string, bool) {
	if n != nil && n.Kind == yaml.ScalarNode && n.ShortTag() == "!!bool" {
		if b, _ := strconv.ParseBool(strings.ToLower(n.Value)); b {
			return "on", true
		}
		return "off", true
	}
	s, ok := text(c, key, n)
	if !ok {
		return "", false
	}
	w := strings.ToLower(s)
	switch w {
	case "true", "yes":
		w = "on"
	case "false", "no":
		w = "off"
	}
	for _, ch := range choices {
		if w == ch {
			return w, true
		}
	}
	c.errorf(n.Line, "%s: invalid value %q, expected %s", key, s, orList(choices))
	return "", false
}

// orList formats choices as `a, b or c`.
func orList(choices []string) string {
	if len(choices) == 1 {
		return choices[0]
	}
	return strings.Join(choices[:len(choices)-1], ", ") + " or " + choices[len(choices)-1]
}

// flag parses an nginx on|off value: a YAML boolean, or on/off (also
// yes/no, true/false) as a string.
func flag(c *collector, key string, n *yaml.Node) (bool, bool) {
	w, ok := word(c, key, n, "on", "off")
	return w == "on", ok
}

// duration parses a time value: a bare integer (seconds), nginx time syntax
// ("500ms", "60s", "5m", "1h30m", "1d", units ms s m h d w M y in
// decreasing order) or a Go duration ("1.5s", "300us"). It must be > 0.
func duration(c *collector, key string, n *yaml.Node) (time.Duration, bool) {
	if n != nil && n.Kind == yaml.ScalarNode && n.ShortTag() == "!!int" {
		var secs int64
		if err := n.Decode(&secs); err != nil || secs <= 0 || secs > math.MaxInt64/int64(time.Second) {
			c.errorf(n.Line, "%s: invalid duration %q, must be a positive number of seconds", key, n.Value)
			return 0, false
		}
		return time.Duration(secs) * time.Second, true
	}
	s, ok := text(c, key, n)
	if !ok {
		return 0, false
	}
	d, ok := nginxTime(s)
	if !ok {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			c.errorf(n.Line, "%s: invalid duration %q (examples: 60s, 5m, 1h30m, 500ms)", key, s)
			return 0, false
		}
	}
	if d <= 0 {
		c.errorf(n.Line, "%s: duration %q must be greater than 0", key, s)
		return 0, false
	}
	return d, true
}

// nginxUnits are nginx's time units, largest first; a value lists them in
// this order, each at most once.
var nginxUnits = []struct {
	name string
	d    time.Duration
}{
	{"y", 365 * 24 * time.Hour},
	{"M", 30 * 24 * time.Hour},
	{"w", 7 * 24 * time.Hour},
	{"d", 24 * time.Hour},
	{"h", time.Hour},
	{"m", time.Minute},
	{"s", time.Second},
	{"ms", time.Millisecond},
}

// nginxTime parses nginx's time syntax (ngx_parse_time): groups of digits
// each followed by a unit, spaces allowed between groups, a final group
// without a unit counts as seconds.
func nginxTime(s string) (time.Duration, bool) {
	var total time.Duration
	next := 0 // index into nginxUnits of the largest unit still allowed
	rest := strings.TrimSpace(s)
	if rest == "" {
		return 0, false
	}
	for rest != "" {
		i := 0
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		if i == 0 {
			return 0, false
		}
		v, err := strconv.ParseInt(rest[:i], 10, 64)
		if err != nil {
			return 0, false
		}
		rest = rest[i:]
		u := -1
		for j := next; j < len(nginxUnits); j++ {
			name := nginxUnits[j].name
			// "m" must not swallow the "m" of "ms".
			if strings.HasPrefix(rest, name) && (name != "m" || !strings.HasPrefix(rest, "ms")) {
				u = j
				break
			}
		}
		if u < 0 {
			if strings.TrimSpace(rest) != "" || next > 6 {
				return 0, false
			}
			u, rest = 6, "" // bare number at the end: seconds
		} else {
			rest = rest[len(nginxUnits[u].name):]
		}
		unit := nginxUnits[u].d
		if v > int64(math.MaxInt64-total)/int64(unit) {
			return 0, false
		}
		total += time.Duration(v) * unit
		next = u + 1
		rest = strings.TrimLeft(rest, " \t")
	}
	return total, true
}

// maxSize bounds buffer sizes; anything larger is certainly a typo.
const maxSize = 1 << 30

// size parses a buffer size: an integer (bytes) or nginx size syntax
// ("4096", "4k", "4K", "1m", "1g"). It must be > 0 and at most 1g.
func size(c *collector, key string, n *yaml.Node) (int, bool) {
	var v int64
	if n != nil && n.Kind == yaml.ScalarNode && n.ShortTag() == "!!int" {
		if err := n.Decode(&v); err != nil {
			v = -1
		}
	} else {
		s, ok := text(c, key, n)
		if !ok {
			return 0, false
		}
		v = nginxSize(s)
	}
	if v <= 0 || v > maxSize {
		c.errorf(n.Line, "%s: invalid size %q, expected bytes or a number with k, m or g, greater than 0 and at most 1g", key, n.Value)
		return 0, false
	}
	return int(v), true
}

// nginxSize parses ngx_parse_size syntax, returning -1 when invalid or
// larger than maxSize.
func nginxSize(s string) int64 {
	mult := int64(1)
	if s != "" {
		switch s[len(s)-1] {
		case 'k', 'K':
			mult = 1 << 10
		case 'm', 'M':
			mult = 1 << 20
		case 'g', 'G':
			mult = 1 << 30
		}
		if mult != 1 {
			s = s[:len(s)-1]
		}
	}
	if s == "" || strings.TrimLeft(s, "0123456789") != "" {
		return -1
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v > maxSize/mult {
		return -1
	}
	return v * mult
}

// count parses a non-negative integer (max_errors).
func count(c *collector, key string, n *yaml.Node) (int, bool) {
	var v int64 = -1
	if n != nil && n.Kind == yaml.ScalarNode && n.ShortTag() == "!!int" {
		if err := n.Decode(&v); err != nil {
			v = -1
		}
	} else {
		s, ok := text(c, key, n)
		if !ok {
			return 0, false
		}
		if p, err := strconv.ParseInt(s, 10, 32); err == nil {
			v = p
		}
	}
	if v < 0 || v > math.MaxInt32 {
		c.errorf(n.Line, "%s: invalid number %q, expected an integer >= 0", key, n.Value)
		return 0, false
	}
	return int(v), true
}

// token is one item of a parsed list with its line.
type token struct {
	s    string
	line int
}

// textList parses a list of text values; a single scalar counts as a
// one-item list. When words is true a string item is also split on white
// space, as nginx's multi-argument directives are ("plain login"). Items
// must not be empty, and neither may the list unless allowEmpty.
func textList(c *collector, key string, n *yaml.Node, words, allowEmpty bool) ([]token, bool) {
	list, ok := items(c, key, n, true)
	if !ok {
		return nil, false
	}
	out := []token{}
	for _, it := range list {
		s, good := text(c, key, it)
		switch {
		case !good:
			ok = false
		case strings.TrimSpace(s) == "":
			c.errorf(it.Line, "%s: empty item", key)
			ok = false
		case words:
			for _, f := range strings.Fields(s) {
				out = append(out, token{f, it.Line})
			}
		default:
			out = append(out, token{s, it.Line})
		}
	}
	if ok && len(out) == 0 && !allowEmpty {
		c.errorf(n.Line, "%s: must not be empty", key)
		return nil, false
	}
	return out, ok
}

// texts returns the texts of toks.
func texts(toks []token) []string {
	out := make([]string, len(toks))
	for i, t := range toks {
		out[i] = t.s
	}
	return out
}

// keywordSet parses a list of keywords from choices (case-insensitive),
// deduplicated, in file order. canon maps the lower-case form to the
// stored spelling.
func keywordSet(c *collector, key string, n *yaml.Node, canon map[string]string, choices []string) ([]string, bool) {
	list, ok := textList(c, key, n, true, false)
	if !ok {
		return nil, false
	}
	var out []string
	seen := make(map[string]bool)
	for _, t := range list {
		v, known := canon[strings.ToLower(t.s)]
		if !known {
			c.errorf(t.line, "%s: unknown value %q, expected %s", key, t.s, orList(choices))
			ok = false
			continue
		}
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out, ok
}
