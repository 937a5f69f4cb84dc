package conformance

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// listDirectives are the directives whose YAML value is always a list
// (run_nginx.py's LIST_DIRECTIVES).
var listDirectives = map[string]bool{
	"imap_auth": true, "pop3_auth": true, "smtp_auth": true,
	"imap_capabilities": true, "pop3_capabilities": true, "smtp_capabilities": true,
	"ssl_protocols": true, "set_real_ip_from": true, "resolver": true,
}

// boolDirectives are the on/off switches written as YAML booleans
// (run_nginx.py's BOOL_DIRECTIVES). Directives with more values than
// on/off, such as starttls (on|off|only) and the outbound proxy_protocol
// (on|off|v2), keep their value as a string.
var boolDirectives = map[string]bool{
	"xclient": true, "proxy_pass_error_message": true, "proxy_smtp_auth": true,
	"auth_http_pass_client_cert": true, "ssl_prefer_server_ciphers": true,
	"ssl_session_tickets": true, "proxy": true,
}

// directive is one nginx configuration line split into its words.
type directive struct {
	name string
	args []string
}

// parseDirective splits one nginx directive line ("name arg ...;") into
// words with nginx's quoting: an argument may be written in double or
// single quotes; inside a word \" \' \\ stand for the character, \t \r \n
// for the control character, and any other backslash is kept.
func parseDirective(line string) (directive, error) {
	s := strings.TrimSpace(line)
	s = strings.TrimSpace(strings.TrimRight(s, ";"))
	var words []string
	for i := 0; i < len(s); {
		c := s[i]
		if c == ' ' || c == '\t' {
			i++
			continue
		}
		var quote byte
		if c == '"' || c == '\'' {
			quote = c
			i++
		}
		var w strings.Builder
		closed := quote == 0
		for i < len(s) {
			c = s[i]
			if quote == 0 && (c == ' ' || c == '\t') {
				break
			}
			if quote != 0 && c == quote {
				i++
				closed = true
				break
			}
			if c == '\\' && i+1 < len(s) {
				switch n := s[i+1]; n {
				case '"', '\'', '\\':
					w.WriteByte(n)
					i += 2
					continue
				case 't':
					w.WriteByte('\t')
					i += 2
					continue
				case 'r':
					w.WriteByte('\r')
					i += 2
					continue
				case 'n':
					w.WriteByte('\n')
					i += 2
					continue
				}
			}
			w.WriteByte(c)
			i++
		}
		if !closed {
			return directive{}, fmt.Errorf("unterminated quote in %q", line)
		}
		if quote != 0 && i < len(s) && s[i] != ' ' && s[i] != '\t' {
			return directive{}, fmt.Errorf("unexpected %q after a quoted argument in %q", s[i], line)
		}
		words = append(words, w.String())
	}
	if len(words) == 0 {
		return directive{}, nil
	}
	return directive{name: words[0], args: words[1:]}, nil
}

// yamlValue is the YAML value of one directive: exactly one field is set.
type yamlValue struct {
	isBool  bool
	boolean bool
	str     *string
	list    []string
	listen  [][2][]string // listen items: address, then parameter names
	headers [][2]string   // auth_http_header: name, value in order
}

// ServerYAML translates the nginx directives of one server block (with
// placeholders already substituted) into mailproxy's YAML: a `servers:`
// list holding one entry. It follows run_nginx.py's --mailproxy mode:
// keys are directive names in order of first appearance; list-valued
// directives become lists; on/off switches become true/false; each
// `auth_http_header NAME VALUE` becomes an entry of a map; each
// `listen ADDR [ssl] [proxy_protocol]` becomes {address: ADDR, ssl: true,
// proxy_protocol: true}; an auth_http URL without scheme gets http://; a
// later occurrence of any other directive replaces the earlier value.
// Strings are always double-quoted; values of only digits are integers.
func ServerYAML(lines []string) (string, error) {
	vals := map[string]*yamlValue{}
	var order []string
	for _, line := range lines {
		d, err := parseDirective(line)
		if err != nil {
			return "", err
		}
		if d.name == "" {
			continue
		}
		v := vals[d.name]
		if v == nil {
			v = &yamlValue{}
			vals[d.name] = v
			order = append(order, d.name)
		}
		switch {
		case d.name == "listen":
			if len(d.args) == 0 {
				return "", fmt.Errorf("listen without address")
			}
			v.listen = append(v.listen, [2][]string{{d.args[0]}, d.args[1:]})
		case d.name == "auth_http_header":
			if len(d.args) == 0 {
				return "", fmt.Errorf("auth_http_header without name")
			}
			val := strings.Join(d.args[1:], " ")
			replaced := false
			for i := range v.headers {
				if v.headers[i][0] == d.args[0] {
					v.headers[i][1], replaced = val, true
				}
			}
			if !replaced {
				v.headers = append(v.headers, [2]string{d.args[0], val})
			}
		case listDirectives[d.name]:
			v.list = append(v.list, d.args...)
		case boolDirectives[d.name] && len(d.args) == 1 && (d.args[0] == "on" || d.args[0] == "off"):
			*v = yamlValue{isBool: true, boolean: d.args[0] == "on"}
		case d.name == "auth_http" && len(d.args) > 0 && !strings.Contains(d.args[0], "://"):
			s := "http://" + d.args[0]
			*v = yamlValue{str: &s}
		default:
			s := strings.Join(d.args, " ")
			*v = yamlValue{str: &s}
		}
	}
	var b strings.Builder
	b.WriteString("servers:\n  -\n")
	for _, k := range order {
		v := vals[k]
		switch {
		case v.isBool:
			fmt.Fprintf(&b, "    %s: %t\n", k, v.boolean)
		case v.str != nil:
			q, err := yamlScalar(*v.str)
			if err != nil {
				return "", err
			}
			fmt.Fprintf(&b, "    %s: %s\n", k, q)
		case v.headers != nil:
			fmt.Fprintf(&b, "    %s:\n", k)
			for _, h := range v.headers {
				hk, err := yamlKey(h[0])
				if err != nil {
					return "", err
				}
				hv, err := yamlQuote(h[1])
				if err != nil {
					return "", err
				}
				fmt.Fprintf(&b, "      %s: %s\n", hk, hv)
			}
		case v.listen != nil:
			fmt.Fprintf(&b, "    %s:\n", k)
			for _, it := range v.listen {
				addr, err := yamlQuote(it[0][0])
				if err != nil {
					return "", err
				}
				fmt.Fprintf(&b, "      - {address: %s", addr)
				for _, p := range it[1] {
					pk, err := yamlKey(p)
					if err != nil {
						return "", err
					}
					fmt.Fprintf(&b, ", %s: true", pk)
				}
				b.WriteString("}\n")
			}
		default:
			fmt.Fprintf(&b, "    %s:\n", k)
			for _, it := range v.list {
				q, err := yamlQuote(it)
				if err != nil {
					return "", err
				}
				fmt.Fprintf(&b, "      - %s\n", q)
			}
		}
	}
	return b.String(), nil
}

// yamlScalar writes a directive value: all digits as an integer, anything
// else as a double-quoted string.
func yamlScalar(s string) (string, error) {
	if s != "" && strings.Trim(s, "0123456789") == "" {
		return s, nil
	}
	return yamlQuote(s)
}

// yamlKey writes a map key: plain when it is made of letters, digits, '-'
// and '_' only, double-quoted otherwise.
func yamlKey(s string) (string, error) {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") == "" {
		return s, nil
	}
	return yamlQuote(s)
}

// yamlQuote writes s as a YAML double-quoted scalar. Control characters
// are escaped; s must be valid UTF-8.
func yamlQuote(s string) (string, error) {
	if !utf8.ValidString(s) {
		return "", fmt.Errorf("value %q is not valid UTF-8", s)
	}
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\n':
			b.WriteString(`\n`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String(), nil
}
