package config

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
)

// srv is a valid file (lines 1-4: mail with auth_http, one server
// listening on 143) followed by more lines of that server, from line 5.
func srv(lines ...string) string {
	return y(append([]string{"mail:", "  auth_http: 127.0.0.1:9000", "servers:", "  - listen: [143]"}, lines...)...)
}

// at formats an expected problem of test.yaml.
func at(line int, msg string) string {
	return fmt.Sprintf("test.yaml:%d: %s", line, msg)
}

// goTypeName catches Go type names leaking into messages.
var goTypeName = regexp.MustCompile(`\b(u?int(8|16|32|64)?|float64|time\.Duration|\[\]string|map\[|config\.|netip\.|\*?yaml\.|struct)\b|!!`)

func TestErrors(t *testing.T) {
	const dur = "(examples: 60s, 5m, 1h30m, 500ms)"
	const size = "expected bytes or a number with k, m or g, greater than 0 and at most 1g"
	cases := []struct {
		name string
		text string
		want []string
	}{
		// File structure.
		{"empty file", "", []string{at(1, "no servers")}},
		{"only comments", "# nothing here\n", []string{at(1, "no servers")}},
		{"no servers key", y("mail:", "  auth_http: 127.0.0.1:9000"), []string{at(1, "no servers")}},
		{"null servers", y("servers:"), []string{at(1, "no servers")}},
		{"empty servers", y("mail: {}", "servers: []"), []string{at(2, "no servers")}},
		{"servers not a list", y("servers: 5"), []string{at(1, "servers: expected a list, got an integer")}},
		{"server not a map", y("servers:", "  - 143"), []string{at(2, "servers: each server must be a map, got an integer")}},
		{"top level list", y("- a"), []string{at(1, "expected a map with the keys mail and servers, got a list")}},
		{"mail not a map", y("mail: 5", "servers:", "  - listen: [143]", "    auth_http: a"), []string{at(1, "mail: expected a map, got an integer")}},
		{"unknown top-level key", y("mial: {}", "timeout: 5s", "servers:", "  - listen: [143]", "    auth_http: a"), []string{
			at(1, `unknown top-level key "mial", expected one of: mail, servers, shutdown_timeout, worker_shutdown_timeout, log_format, log_level, metrics_listen, pid, error_log, max_connections, user, limit_conn_zone, limit_conn_store, event_loops`),
			at(2, `unknown top-level key "timeout": directives go in mail or in a server`),
		}},
		// yaml.v3 reports the line where the enclosing block starts.
		// yaml.v3 gives the parser's 0-based line: the `[` is on line 2.
		{"syntax error", y("servers:", "  - listen: [143", "    auth_http: a"), []string{at(2, "did not find expected ',' or ']'")}},
		{"unclosed list on line 4", y("mail:", "  auth_http: a", "servers:", "  - listen: [127.0.0.1:143", "    protocol: imap"), []string{at(4, "did not find expected ',' or ']'")}},
		// A collection opened on line 1: the line where the parser saw
		// the problem.
		{"unclosed map", y("mail: {auth_http: a", "servers: []"), []string{at(2, "did not find expected ',' or '}'")}},
		{"block mapping", y("mail:", "  auth_http: a", " bad", "servers: []"), []string{at(3, "did not find expected key")}},
		{"scanner error keeps its line", y("mail:", "  auth_http: a: b"), []string{at(2, "mapping values are not allowed in this context")}},
		{"tab", y("servers:", "\t- listen: [143]"), []string{at(2, "found character that cannot start any token")}},
		{"invalid UTF-8", srv("    server_name: \xff"), []string{at(5, "invalid leading UTF-8 octet")}},
		{"control character", srv("    server_name: a\x01"), []string{at(5, "control characters are not allowed")}},
		{"unknown escape", srv(`    server_name: "\q"`), []string{at(5, "found unknown escape character")}},
		{"unknown anchor", srv("    timeout: 5s", "    server_name: *nope"), []string{at(6, "unknown anchor 'nope' referenced")}},
		{"two documents", y("servers:", "  - {listen: [143], auth_http: a}", "---", "servers: []"), []string{at(3, "only one YAML document is allowed")}},
		{"merge key", y("mail: &m {auth_http: a}", "servers:", "  - <<: *m", "    listen: [143]"), []string{at(3, "server: merge keys (<<) are not supported")}},
		{"non-string key", srv("    [a]: 1"), []string{at(5, "server: keys must be strings, got a list")}},

		// Unknown and duplicate keys.
		{"unknown server key", srv("    timout: 5s"), []string{at(5, `server: unknown key "timout"`)}},
		{"unknown mail key", y("mail:", "  auth_http: a", "  bogus: 1", "servers:", "  - listen: [143]"), []string{at(3, `mail: unknown key "bogus"`)}},
		{"unsupported nginx key", srv("    ssl_dhparam: dh.pem", "    ssl_conf_command: [Options, -SessionTicket]"), []string{
			at(5, `server: key "ssl_dhparam" (an nginx directive) is not supported`),
			at(6, `server: key "ssl_conf_command" (an nginx directive) is not supported`),
		}},
		{"server-only key in mail", y("mail:", "  auth_http: a", "  listen: [143]", "  protocol: imap", "servers:", "  - listen: [143]"), []string{
			at(3, `mail: key "listen" is only allowed in a server`),
			at(4, `mail: key "protocol" is only allowed in a server`),
		}},
		{"duplicate server key", srv("    timeout: 5s", "    timeout: 6s"), []string{at(6, `server: duplicate key "timeout", first defined at line 5`)}},
		{"duplicate top key", y("servers: []", "servers:", "  - {listen: [143], auth_http: a}"), []string{at(1, "no servers"), at(2, `top level: duplicate key "servers", first defined at line 1`)}},

		// Wrong types.
		{"duration list", srv("    timeout: [1]"), []string{at(5, "timeout: expected a string, got a list")}},
		{"string bool", srv("    server_name: true"), []string{at(5, "server_name: expected a string, got a boolean")}},
		{"string map", srv("    ssl_ciphers: {a: 1}"), []string{at(5, "ssl_ciphers: expected a string, got a map")}},
		{"list map", srv("    imap_auth: {plain: 1}"), []string{at(5, "imap_auth: expected a list, got a map")}},
		{"list item list", srv("    imap_capabilities: [[a]]"), []string{at(5, "imap_capabilities: expected a string, got a list")}},
		{"header list", srv("    auth_http_header: [X-A]"), []string{at(5, "auth_http_header: expected a map of header name to value, got a list")}},
		{"flag number", srv("    proxy_pass_error_message: 1"), []string{at(5, `proxy_pass_error_message: invalid value "1", expected on or off`)}},
		{"timestamp", srv("    server_name: 2001-12-14"), []string{at(5, "server_name: expected a string, got a timestamp")}},
		{"duplicate listen key", srv("    ssl_protocols: TLSv1.2", "    listen: {address: 143}"), []string{at(6, `server: duplicate key "listen", first defined at line 4`)}},
		{"listen not a list", y("mail: {auth_http: a}", "servers:", "  - listen: {address: 143}"), []string{at(3, "listen: expected a list, got a map")}},

		// Missing values.
		{"null value", srv("    timeout:"), []string{at(5, "timeout: missing value")}},
		{"null header", srv("    auth_http_header: {X-A: }"), []string{at(5, "auth_http_header X-A: missing value")}},
		{"empty list", srv("    imap_capabilities: []"), []string{at(5, "imap_capabilities: must not be empty")}},
		{"empty imap_auth", srv("    imap_auth: []"), []string{at(5, "imap_auth: must not be empty")}},
		{"empty item", srv(`    imap_capabilities: [IMAP4, ""]`), []string{at(5, "imap_capabilities: empty item")}},
		{"empty ciphers", srv(`    ssl_ciphers: ""`), []string{at(5, "ssl_ciphers: must not be empty")}},
		{"no listen", y("mail: {auth_http: a}", "servers:", "  - protocol: imap"), []string{at(3, `no "listen" is defined for server`)}},
		{"empty listen", y("mail: {auth_http: a}", "servers:", "  - protocol: imap", "    listen: []"), []string{at(4, "listen: must not be empty")}},
		{"no auth_http", y("servers:", "  - listen: [143]", "  - listen: [110]", "    auth_http: a"), []string{at(2, `no "auth_http" is defined for server`)}},
		{"unknown mail protocol", y("mail: {auth_http: a}", "servers:", "  - listen: [10143, 8080]"), []string{at(3, "unknown mail protocol for server")}},

		// Bad values.
		{"bad duration", srv("    timeout: ninety"), []string{at(5, `timeout: invalid duration "ninety" `+dur)}},
		{"bad duration unit", srv("    proxy_timeout: 5x"), []string{at(5, `proxy_timeout: invalid duration "5x" `+dur)}},
		{"duration order", srv("    timeout: 5m 1h"), []string{at(5, `timeout: invalid duration "5m 1h" `+dur)}},
		{"zero duration", srv("    auth_http_timeout: 0s"), []string{at(5, `auth_http_timeout: duration "0s" must be greater than 0`)}},
		{"zero seconds", srv("    timeout: 0"), []string{at(5, `timeout: invalid duration "0", must be a positive number of seconds`)}},
		{"negative duration", srv("    timeout: -5s"), []string{at(5, `timeout: duration "-5s" must be greater than 0`)}},
		{"float duration", srv("    timeout: 1.5"), []string{at(5, `timeout: invalid duration "1.5" `+dur)}},
		{"huge duration", srv("    timeout: 99999999999999999d"), []string{at(5, `timeout: invalid duration "99999999999999999d" `+dur)}},
		{"bad size", srv("    proxy_buffer: 4q"), []string{at(5, `proxy_buffer: invalid size "4q", `+size)}},
		{"zero size", srv("    imap_client_buffer: 0"), []string{at(5, `imap_client_buffer: invalid size "0", `+size)}},
		{"huge size", srv("    proxy_buffer: 2g"), []string{at(5, `proxy_buffer: invalid size "2g", `+size)}},
		{"negative count", srv("    max_errors: -1"), []string{at(5, `max_errors: invalid number "-1", expected an integer >= 0`)}},
		{"bad count", srv("    max_errors: many"), []string{at(5, `max_errors: invalid number "many", expected an integer >= 0`)}},
		{"negative keepalive", srv("    auth_http_keepalive: -3"), []string{at(5, `auth_http_keepalive: invalid number "-3", expected an integer >= 0`)}},
		{"zero keepalive timeout", srv("    auth_http_keepalive_timeout: 0"), []string{at(5, `auth_http_keepalive_timeout: invalid duration "0", must be a positive number of seconds`)}},
		{"bad cidr", srv("    set_real_ip_from:", "      - 10.0.0.0/33", "      - example.com", `      - "unix:"`, `      - "fe80::1%eth0"`), []string{
			at(6, `set_real_ip_from: invalid CIDR "10.0.0.0/33"`),
			at(7, `set_real_ip_from: invalid address "example.com", expected an IP address or CIDR`),
			at(8, `set_real_ip_from: "unix:" is not supported (no unix socket listeners)`),
			at(9, `set_real_ip_from: invalid address "fe80::1%eth0", expected an IP address or CIDR`),
		}},
		{"unknown protocol", srv("    protocol: http"), []string{at(5, `protocol: unknown protocol "http", expected imap, pop3, smtp or sieve`)}},
		{"unknown imap_auth", srv("    imap_auth: [plain,", "      digest-md5]"), []string{at(6, `imap_auth: unknown value "digest-md5", expected plain, login, cram-md5, external, xoauth2, oauthbearer or sasl-ir`)}},
		{"unknown ssl protocol", srv("    ssl_protocols: [TLSv1.2, TLSv1.4]"), []string{at(5, `ssl_protocols: unknown value "TLSv1.4", expected SSLv2, SSLv3, TLSv1, TLSv1.1, TLSv1.2 or TLSv1.3`)}},
		{"bad starttls", srv("    starttls: maybe"), []string{at(5, `starttls: invalid value "maybe", expected off, on or only`)}},
		{"bad proxy_protocol", srv("    proxy_protocol: v3"), []string{at(5, `proxy_protocol: invalid value "v3", expected off, on or v2`)}},
		{"bad header name", srv(`    auth_http_header: {"X Bad": 1, "": 2}`), []string{at(5, `auth_http_header: invalid header name "X Bad"`), at(5, `auth_http_header: invalid header name ""`)}},
		{"line break", srv(`    server_name: "a\r\nb"`), []string{at(5, `server_name: "a\r\nb" contains a line break or NUL`)}},
		{"header injection", srv(`    auth_http_header: {X-A: "1\r\nX-B: 2"}`), []string{at(5, `auth_http_header X-A: "1\r\nX-B: 2" contains a line break or NUL`)}},

		// listen.
		{"listen host name", y("mail: {auth_http: a}", "servers:", "  - listen: [localhost:143]"), []string{at(3, `listen: invalid address "localhost:143": host must be an IP address or *`)}},
		{"listen bad addresses", y("mail: {auth_http: a}", "servers:", "  - protocol: imap",
			`    listen: ["1.2.3.4:99999", "1.2.3.4:x", "1.2.3.4:", "::1:143", "unix:/run/x.sock", "-5", "[::1]", "1.2.3.4:+5"]`), []string{
			at(4, `listen: invalid address "1.2.3.4:99999": invalid port`),
			at(4, `listen: invalid address "1.2.3.4:x": invalid port`),
			at(4, `listen: invalid address "1.2.3.4:": invalid port`),
			at(4, `listen: invalid address "::1:143": expected IP:PORT, [IPv6]:PORT, *:PORT or PORT`),
			at(4, `listen: invalid address "unix:/run/x.sock": unix sockets are not supported`),
			at(4, `listen: invalid address "-5": invalid port`),
			at(4, `listen: invalid address "[::1]": expected IP:PORT, [IPv6]:PORT, *:PORT or PORT`),
			at(4, `listen: invalid address "1.2.3.4:+5": invalid port`),
		}},
		{"listen bad parameter", y("mail: {auth_http: a}", "servers:", "  - listen: [143 backlog=5]"), []string{at(3, `listen: invalid parameter "backlog=5", expected ssl or proxy_protocol`)}},
		{"listen map unknown key", y("mail: {auth_http: a}", "servers:", "  - listen:", "      - address: 143", "        backlog: 5"), []string{at(5, `listen: unknown key "backlog", expected address, ssl or proxy_protocol`)}},
		{"listen map no address", y("mail: {auth_http: a}", "servers:", "  - protocol: imap", "    listen:", "      - ssl: off"), []string{at(5, "listen: missing address")}},
		{"listen map bad ssl", y("mail: {auth_http: a}", "servers:", "  - listen:", "      - {address: 143, ssl: sometimes}"), []string{at(4, `listen ssl: invalid value "sometimes", expected on or off`)}},
		{"partly bad listen", y("mail: {auth_http: a}", "servers:", "  - listen: [143, 1.2.3.4:x]"), []string{at(3, `listen: invalid address "1.2.3.4:x": invalid port`)}},

		// Duplicate listen addresses.
		{"duplicate listen", y("mail: {auth_http: a}", "servers:", "  - listen:", "      - 127.0.0.1:143", "      - 127.0.0.1:0143"), []string{at(5, `duplicate "127.0.0.1:143" address and port pair`)}},
		{"duplicate across servers", y("mail: {auth_http: a}", "servers:", "  - listen: [143]", "  - listen: [\"*:143\"]"), []string{at(4, `duplicate ":143" address and port pair`)}},
		{"duplicate ipv6", y("mail: {auth_http: a}", "servers:", "  - listen: [\"[::1]:143\"]", "  - listen: [\"[0::1]:143\"]"), []string{at(4, `duplicate "[::1]:143" address and port pair`)}},
		{"wildcard overlap", y("mail: {auth_http: a}", "servers:", "  - listen: [0.0.0.0:143]", "  - listen: [143]", "  - listen: [\"[::]:143\"]"), []string{
			at(4, `duplicate ":143" address and port pair (overlaps "0.0.0.0:143" at line 3)`),
			at(5, `duplicate "[::]:143" address and port pair (overlaps ":143" at line 4)`),
		}},

		// auth_http.
		{"auth_http HTTPS", y("mail:", "  auth_http: HTTPS://auth.example/auth", "servers:", "  - listen: [143]"), []string{
			at(2, `auth_http: invalid URL "HTTPS://auth.example/auth": the scheme must be written in lower case, "https://"`),
		}},
		{"auth_http bad urls", y("servers:",
			"  - {listen: [143], auth_http: ftp://x}",
			"  - {listen: [144], protocol: imap, auth_http: \"::1:80\"}",
			"  - {listen: [145], protocol: imap, auth_http: \"[::1\"}",
			"  - {listen: [146], protocol: imap, auth_http: \"host:0\"}",
			"  - {listen: [147], protocol: imap, auth_http: \"host:http\"}",
			"  - {listen: [148], protocol: imap, auth_http: \"a b\"}",
			"  - {listen: [149], protocol: imap, auth_http: \"\"}",
			"  - {listen: [150], protocol: imap, auth_http: \"[1.2.3.4]:80\"}",
			"  - {listen: [151], protocol: imap, auth_http: \"unix:\"}",
			"  - {listen: [152], protocol: imap, auth_http: \"HTTP://[::1]/x\"}",
			"  - {listen: [153], protocol: imap, auth_http: \"ho$t\"}",
			"  - {listen: [154], protocol: imap, auth_http: \"[::1]x\"}",
		), []string{
			at(2, `auth_http: invalid URL "ftp://x": only http:// and https:// are supported`),
			at(3, `auth_http: invalid URL "::1:80": IPv6 addresses must be written in brackets`),
			at(4, `auth_http: invalid URL "[::1": missing "]" after the IPv6 address`),
			at(5, `auth_http: invalid URL "host:0": invalid port`),
			at(6, `auth_http: invalid URL "host:http": invalid port`),
			at(7, `auth_http: invalid URL "a b": contains white space or a control character`),
			at(8, `auth_http: must not be empty`),
			at(9, `auth_http: invalid URL "[1.2.3.4]:80": invalid IPv6 address`),
			at(10, `auth_http: invalid URL "unix:": no path in the unix domain socket`),
			at(11, `auth_http: invalid URL "HTTP://[::1]/x": the scheme must be written in lower case, "http://"`),
			at(12, `auth_http: invalid URL "ho$t": invalid host`),
			at(13, `auth_http: invalid URL "[::1]x": expected ":" after the IPv6 address`),
		}},

		// Collect everything, in line order.
		{"many problems", y(
			"mail:",
			"  timeout: soon",
			"  imap_auth: [gssapi]",
			"servers:",
			"  - listen: [143]",
			"    proxy_buffer: lots",
			"  - protocol: pop3",
			"    max_errors: x",
		), []string{
			at(2, `timeout: invalid duration "soon" `+dur),
			at(3, `imap_auth: unknown value "gssapi", expected plain, login, cram-md5, external, xoauth2, oauthbearer or sasl-ir`),
			at(5, `no "auth_http" is defined for server`),
			at(6, `proxy_buffer: invalid size "lots", `+size),
			at(7, `no "listen" is defined for server`),
			at(7, `no "auth_http" is defined for server`),
			at(8, `max_errors: invalid number "x", expected an integer >= 0`),
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := problems(t, tc.text)
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("input:\n%s got:\n  %s\nwant:\n  %s", numbered(tc.text), strings.Join(got, "\n  "), strings.Join(tc.want, "\n  "))
			}
			for _, g := range got {
				if goTypeName.MatchString(g) {
					t.Errorf("message names a Go type: %s", g)
				}
			}
		})
	}
}

// TestTLSErrors covers certificates: required by ssl listeners and
// starttls, one key per certificate, and pairs that must load.
func TestTLSErrors(t *testing.T) {
	f := newFixtures(t)
	cases := []struct {
		name string
		text string
		want []string
	}{
		{"ssl listen without certificate", y("mail: {auth_http: a}", "servers:", "  - listen:", "      - 143", "      - {address: 993, ssl: true}"), []string{
			at(5, `no "ssl_certificate" is defined for the "listen ... ssl" directive`),
		}},
		{"starttls without certificate", srv("    starttls: only"), []string{at(5, `no "ssl_certificate" is defined for the "starttls" directive`)}},
		{"inherited starttls reported once", y("mail:", "  auth_http: a", "  starttls: on", "servers:", "  - listen: [143]", "  - listen: [110]"), []string{
			at(3, `no "ssl_certificate" is defined for the "starttls" directive`),
		}},
		{"key missing", srv("    ssl_certificate: [CERT, CERT2]", "    ssl_certificate_key: KEY"), []string{at(5, `no "ssl_certificate_key" is defined for certificate "CERT2"`)}},
		{"no key at all", srv("    ssl_certificate: CERT"), []string{at(5, `no "ssl_certificate_key" is defined for certificate "CERT"`)}},
		{"key without certificate", srv("    ssl_certificate_key: KEY"), []string{at(5, `no "ssl_certificate" is defined for key "KEY"`)}},
		{"extra key", srv("    ssl_certificate: CERT", "    ssl_certificate_key: [KEY, KEY2]"), []string{at(6, `no "ssl_certificate" is defined for key "KEY2"`)}},
		{"missing file", srv("    ssl_certificate: MISSING", "    ssl_certificate_key: KEY"), []string{
			at(5, `ssl_certificate: cannot load certificate "MISSING" with key "KEY": stat MISSING: no such file or directory`),
		}},
		{"garbage", srv("    ssl_certificate: GARBAGE", "    ssl_certificate_key: KEY"), []string{
			at(5, `ssl_certificate: cannot load certificate "GARBAGE" with key "KEY": tls: failed to find any PEM data in certificate input`),
		}},
		{"wrong key", srv("    ssl_certificate: CERT", "    ssl_certificate_key: KEY2"), []string{
			at(5, `ssl_certificate: cannot load certificate "CERT" with key "KEY2": tls: private key does not match public key`),
		}},
		{"directory", srv("    ssl_certificate: "+"/", "    ssl_certificate_key: KEY"), []string{
			at(5, `ssl_certificate: cannot load certificate "/" with key "KEY": /: not a regular file`),
		}},
		{"bad mail-level pair reported once", y("mail:", "  auth_http: a", "  ssl_certificate: CERT", "  ssl_certificate_key: KEY2", "servers:", "  - listen: [143]", "  - listen: [110]"), []string{
			at(3, `ssl_certificate: cannot load certificate "CERT" with key "KEY2": tls: private key does not match public key`),
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			text := f.sub(tc.text)
			got := problems(t, text)
			var want []string
			for _, w := range tc.want {
				want = append(want, f.sub(w))
			}
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("input:\n%s got:\n  %s\nwant:\n  %s", numbered(text), strings.Join(got, "\n  "), strings.Join(want, "\n  "))
			}
		})
	}
}
