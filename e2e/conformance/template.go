package conformance

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"unicode/utf8"
)

// capturePatterns are the RE2 patterns of the capture placeholders
// (README §5.2). They are applied to byte strings mapped one byte to one
// rune (see latin1), so a class like [^>\r\n] matches any other byte.
var capturePatterns = map[string]string{
	"SALT":         `<[0-9]+\.[0-9]+@[^>\r\n]+>`,
	"SALT_B64":     `[A-Za-z0-9+/]+={0,2}`,
	"TLS_PROTOCOL": `TLSv1(?:\.[0-3])?`,
	"TLS_CIPHER":   `[A-Za-z0-9_-]+`,
}

var saltRE = regexp.MustCompile(`^(?:` + capturePatterns["SALT"] + `)$`)

// placeholderRE finds ${NAME} in templates.
var placeholderRE = regexp.MustCompile(`\$\{([A-Z0-9_]+)\}`)

// Vars holds the placeholder values of one session: those known before it
// starts (ports, paths) and those captured while it runs. It is safe for
// concurrent use by the client, backend and auth server goroutines.
type Vars struct {
	mu sync.Mutex
	v  map[string][]byte
}

// NewVars returns Vars with the given known values.
func NewVars(known map[string]string) *Vars {
	vs := &Vars{v: map[string][]byte{}}
	for k, val := range known {
		vs.v[k] = []byte(val)
	}
	return vs
}

// Get returns the value of a placeholder and whether it is bound.
func (vs *Vars) Get(name string) ([]byte, bool) {
	vs.mu.Lock()
	defer vs.mu.Unlock()
	b, ok := vs.v[name]
	return b, ok
}

// Bind sets a placeholder. Binding SALT also binds SALT_B64 (standard
// base64 with padding) and binding SALT_B64 binds SALT (its decoding),
// unless already bound.
func (vs *Vars) Bind(name string, val []byte) {
	vs.mu.Lock()
	defer vs.mu.Unlock()
	vs.bindLocked(name, val)
}

func (vs *Vars) bindLocked(name string, val []byte) {
	vs.v[name] = bytes.Clone(val)
	switch name {
	case "SALT":
		if _, ok := vs.v["SALT_B64"]; !ok {
			vs.v["SALT_B64"] = []byte(base64.StdEncoding.EncodeToString(val))
		}
	case "SALT_B64":
		if _, ok := vs.v["SALT"]; !ok {
			if d, err := base64.StdEncoding.DecodeString(string(val)); err == nil {
				vs.v["SALT"] = d
			}
		}
	}
}

// Subst replaces every placeholder of tmpl with its value. A placeholder
// that is not bound is an error.
func (vs *Vars) Subst(tmpl []byte) ([]byte, error) {
	vs.mu.Lock()
	defer vs.mu.Unlock()
	var err error
	out := placeholderRE.ReplaceAllFunc(tmpl, func(m []byte) []byte {
		name := string(m[2 : len(m)-1])
		val, ok := vs.v[name]
		if !ok && err == nil {
			err = fmt.Errorf("placeholder ${%s} not known here", name)
		}
		return val
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// HasCapture reports whether tmpl holds a placeholder that is not bound
// yet (normally a capture placeholder of README §5.2).
func (vs *Vars) HasCapture(tmpl []byte) bool {
	vs.mu.Lock()
	defer vs.mu.Unlock()
	for _, m := range placeholderRE.FindAllSubmatch(tmpl, -1) {
		if _, ok := vs.v[string(m[1])]; !ok {
			return true
		}
	}
	return false
}

// Match reports whether got matches the whole template: literal text
// matches itself, bound placeholders match their value, and each unbound
// capture placeholder matches its pattern. On success the captured values
// are bound. An unknown placeholder, or a capture used twice in one
// template, is an error.
func (vs *Vars) Match(tmpl, got []byte) (bool, error) {
	vs.mu.Lock()
	defer vs.mu.Unlock()
	var rx strings.Builder
	rx.WriteString(`^(?s:`)
	var names []string
	pos := 0
	for _, m := range placeholderRE.FindAllSubmatchIndex(tmpl, -1) {
		rx.WriteString(regexp.QuoteMeta(latin1(tmpl[pos:m[0]])))
		name := string(tmpl[m[2]:m[3]])
		pos = m[1]
		if val, ok := vs.v[name]; ok {
			rx.WriteString(regexp.QuoteMeta(latin1(val)))
			continue
		}
		pat, ok := capturePatterns[name]
		if !ok {
			return false, fmt.Errorf("placeholder ${%s} not known here", name)
		}
		for _, n := range names {
			if n == name {
				return false, fmt.Errorf("capture ${%s} twice in one template", name)
			}
		}
		names = append(names, name)
		fmt.Fprintf(&rx, `(?P<%s>%s)`, name, pat)
	}
	rx.WriteString(regexp.QuoteMeta(latin1(tmpl[pos:])))
	rx.WriteString(`)$`)
	re, err := regexp.Compile(rx.String())
	if err != nil {
		return false, fmt.Errorf("template: %v", err)
	}
	sm := re.FindStringSubmatch(latin1(got))
	if sm == nil {
		return false, nil
	}
	vals := map[string][]byte{}
	for _, name := range names {
		vals[name] = unlatin1(sm[re.SubexpIndex(name)])
	}
	for _, name := range names {
		val := vals[name]
		if name == "SALT_B64" {
			salt, err := base64.StdEncoding.DecodeString(string(val))
			if err != nil || !saltRE.MatchString(latin1(salt)) {
				return false, nil
			}
			if old, ok := vs.v["SALT"]; ok && !bytes.Equal(old, salt) {
				return false, nil
			}
			if s, ok := vals["SALT"]; ok && !bytes.Equal(s, salt) {
				return false, nil
			}
		}
	}
	for _, name := range names {
		vs.bindLocked(name, vals[name])
	}
	return true, nil
}

// latin1 maps each byte to the rune of the same value, so that Go's
// regexp (which works on UTF-8) matches arbitrary bytes one by one.
func latin1(b []byte) string {
	var sb strings.Builder
	sb.Grow(len(b))
	for _, c := range b {
		sb.WriteRune(rune(c))
	}
	return sb.String()
}

// unlatin1 is the inverse of latin1.
func unlatin1(s string) []byte {
	out := make([]byte, 0, len(s))
	for len(s) > 0 {
		r, n := utf8.DecodeRuneInString(s)
		out = append(out, byte(r))
		s = s[n:]
	}
	return out
}
