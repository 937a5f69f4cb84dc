package conformance

import (
	"reflect"
	"testing"
)

func TestParseDirective(t *testing.T) {
	for in, want := range map[string][]string{
		`listen 127.0.0.1:14100 ssl;`:                   {"listen", "127.0.0.1:14100", "ssl"},
		`  smtp_capabilities "SIZE 10485760" 8BITMIME;`: {"smtp_capabilities", "SIZE 10485760", "8BITMIME"},
		`auth_http_header X-Auth-Key "secret value";`:   {"auth_http_header", "X-Auth-Key", "secret value"},
		`x 'single "q"' "a\"b" a\\b "t\tn\n" "\z";`:     {"x", `single "q"`, `a"b`, `a\b`, "t\tn\n", `\z`},
		"imap_auth\tplain  login;;":                     {"imap_auth", "plain", "login"},
		`x "";`:                                         {"x", ""},
	} {
		d, err := parseDirective(in)
		if err != nil {
			t.Errorf("%s: %v", in, err)
			continue
		}
		if got := append([]string{d.name}, d.args...); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: got %q want %q", in, got, want)
		}
	}
	for _, in := range []string{`x "abc;`, `x 'a`, `x "a"b;`} {
		if _, err := parseDirective(in); err == nil {
			t.Errorf("%s: no error", in)
		}
	}
}

func TestServerYAML(t *testing.T) {
	got, err := ServerYAML([]string{
		"listen 127.0.0.1:14100;",
		"listen 127.0.0.1:14101 ssl proxy_protocol;",
		"protocol imap;",
		"server_name mx.example.com;",
		"auth_http 127.0.0.1:14001/auth;",
		`auth_http_header X-Auth-Key "secret value";`,
		`auth_http_header X-Second "a b";`,
		`auth_http_header X-Auth-Key other;`,
		"imap_auth plain login;",
		"imap_auth cram-md5;",
		`imap_capabilities IMAP4rev1 "SASL-IR" ID;`,
		"starttls only;",
		"xclient off;",
		"proxy_pass_error_message on;",
		"proxy_protocol on;",
		"max_errors 3;",
		"timeout 5s;",
		"timeout 2s;",
		"resolver 127.0.0.1:53 ipv6=off;",
		`ssl_certificate "/tmp/a \"b\"\\c.pem";`,
	})
	if err != nil {
		t.Fatal(err)
	}
	want := `servers:
  -
    listen:
      - {address: "127.0.0.1:14100"}
      - {address: "127.0.0.1:14101", ssl: true, proxy_protocol: true}
    protocol: "imap"
    server_name: "mx.example.com"
    auth_http: "http://127.0.0.1:14001/auth"
    auth_http_header:
      X-Auth-Key: "other"
      X-Second: "a b"
    imap_auth:
      - "plain"
      - "login"
      - "cram-md5"
    imap_capabilities:
      - "IMAP4rev1"
      - "SASL-IR"
      - "ID"
    starttls: "only"
    xclient: false
    proxy_pass_error_message: true
    proxy_protocol: "on"
    max_errors: 3
    timeout: "2s"
    resolver:
      - "127.0.0.1:53"
      - "ipv6=off"
    ssl_certificate: "/tmp/a \"b\"\\c.pem"
`
	if got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
	got, _ = ServerYAML([]string{"auth_http https://a/b;", "server_name \"t\tx\x01\";"})
	if want := "servers:\n  -\n    auth_http: \"https://a/b\"\n    server_name: \"t\\tx\\x01\"\n"; got != want {
		t.Errorf("got %q want %q", got, want)
	}
}
