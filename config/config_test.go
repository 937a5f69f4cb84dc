package config

import (
	"errors"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// normalize makes nil and empty slices compare equal.
func normalize(s Server) Server {
	if s.Listen == nil {
		s.Listen = []Listen{}
	}
	if s.AuthHTTPHeader == nil {
		s.AuthHTTPHeader = []Header{}
	}
	if s.SetRealIPFrom == nil {
		s.SetRealIPFrom = []netip.Prefix{}
	}
	if s.SSLCertificate == nil {
		s.SSLCertificate = []string{}
	}
	if s.SSLCertificateKey == nil {
		s.SSLCertificateKey = []string{}
	}
	if s.SMTPCapabilities == nil {
		s.SMTPCapabilities = []string{}
	}
	if s.Resolver == nil {
		s.Resolver = []string{}
	}
	if s.SieveCapabilities == nil {
		s.SieveCapabilities = []string{}
	}
	return s
}

// withTLSDefaults fills the TLS session and client-certificate fields an
// expected server leaves zero with their defaults; TestTLSKeys checks them.
func withTLSDefaults(s Server) Server {
	if s.SSLECDHCurve == "" {
		s.SSLECDHCurve = "auto"
	}
	if s.SSLSessionCache == nil {
		s.SSLSessionCache = []string{"none"}
	}
	if s.SSLSessionTimeout == 0 {
		s.SSLSessionTimeout = 5 * time.Minute
		s.SSLSessionTickets = true
	}
	if s.SSLVerifyClient == "" {
		s.SSLVerifyClient = "off"
		s.SSLVerifyDepth = 1
	}
	return s
}

// checkServer compares got with want, whose TLS and ClientAuth are left
// zero: got must have TLS settings exactly when it needs TLS.
func checkServer(t *testing.T, got *Server, want Server) {
	t.Helper()
	if (got.TLS != nil) != got.NeedsTLS() {
		t.Errorf("NeedsTLS() = %v with TLS settings %p", got.NeedsTLS(), got.TLS)
	}
	g := *got
	g.TLS, g.ClientAuth = nil, nil
	g.Upstreams = Upstreams{} // the upstream keys have their own tests (upstream_test.go)
	if g, w := normalize(g), normalize(withTLSDefaults(want)); !reflect.DeepEqual(g, w) {
		t.Errorf("server mismatch\n got: %+v\nwant: %+v", g, w)
	}
}

func TestExample(t *testing.T) {
	f := newFixtures(t)
	text := f.sub(y(
		"mail:",
		"  auth_http: http://127.0.0.1:9000/auth",
		"  auth_http_header: {X-Auth-Key: shared-secret}",
		"  ssl_certificate: CERT",
		"  ssl_certificate_key: KEY",
		"servers:",
		"  - protocol: imap",
		"    starttls: on",
		"    imap_auth: [plain, login, cram-md5]",
		"    listen:",
		"      - 0.0.0.0:143",
		`      - {address: "0.0.0.0:993", ssl: true}`,
		`      - {address: "127.0.0.1:10143", proxy_protocol: true}`,
		"    set_real_ip_from: [127.0.0.1/32]",
	))
	cfg := mustParse(t, text)
	if len(cfg.Servers) != 1 {
		t.Fatalf("%d servers", len(cfg.Servers))
	}
	want := defaultServer(7)
	want.Listen = []Listen{
		{Address: "0.0.0.0:143", Line: 11},
		{Address: "0.0.0.0:993", SSL: true, Line: 12},
		{Address: "127.0.0.1:10143", ProxyProtocol: true, Line: 13},
	}
	want.AuthHTTP = authURL("http://127.0.0.1:9000/auth")
	want.AuthHTTPHeader = []Header{{"X-Auth-Key", "shared-secret"}}
	want.SSLCertificate = []string{f.m["CERT"]}
	want.SSLCertificateKey = []string{f.m["KEY"]}
	want.StartTLS = StartTLSOn
	want.IMAPAuth = []string{"plain", "login", "cram-md5"}
	want.SetRealIPFrom = prefixes("127.0.0.1/32")
	checkServer(t, cfg.Servers[0], want)
	if !cfg.Servers[0].NeedsTLS() {
		t.Error("NeedsTLS() = false")
	}
}

func TestDefaults(t *testing.T) {
	cfg := mustParse(t, y(
		"mail:",
		"  auth_http: 127.0.0.1:9000",
		"servers:",
		"  - listen: [143]",
	))
	checkServer(t, cfg.Servers[0], defaultServer(4))
	if cfg.Servers[0].NeedsTLS() {
		t.Error("NeedsTLS() = true")
	}
}

// TestKeys checks every directive written once at server level and once
// at mail level: both must give the same server.
func TestKeys(t *testing.T) {
	f := newFixtures(t)
	cases := []struct {
		name string
		text string // the directive, unindented
		want func(s *Server)
	}{
		{"server_name", "server_name: Mail.Example.COM", func(s *Server) { s.ServerName = "Mail.Example.COM" }},
		{"server_name empty", `server_name: ""`, func(s *Server) {}},
		{"timeout nginx", "timeout: 5m", func(s *Server) { s.Timeout = 5 * time.Minute }},
		{"timeout seconds", "timeout: 90", func(s *Server) { s.Timeout = 90 * time.Second }},
		{"timeout quoted seconds", `timeout: "90"`, func(s *Server) { s.Timeout = 90 * time.Second }},
		{"timeout compound", "timeout: 1h30m", func(s *Server) { s.Timeout = 90 * time.Minute }},
		{"timeout compound spaces", "timeout: 1h 30m 5s", func(s *Server) { s.Timeout = 90*time.Minute + 5*time.Second }},
		{"timeout ms", "timeout: 500ms", func(s *Server) { s.Timeout = 500 * time.Millisecond }},
		{"timeout days", "timeout: 1d", func(s *Server) { s.Timeout = 24 * time.Hour }},
		{"timeout weeks", "timeout: 2w", func(s *Server) { s.Timeout = 14 * 24 * time.Hour }},
		{"timeout months years", "timeout: 1y 1M", func(s *Server) { s.Timeout = 395 * 24 * time.Hour }},
		{"timeout go", "timeout: 1.5s", func(s *Server) { s.Timeout = 1500 * time.Millisecond }},
		{"timeout go us", "timeout: 300us", func(s *Server) { s.Timeout = 300 * time.Microsecond }},
		{"max_errors", "max_errors: 10", func(s *Server) { s.MaxErrors = 10 }},
		{"max_errors zero", "max_errors: 0", func(s *Server) { s.MaxErrors = 0 }},
		{"max_errors string", `max_errors: "7"`, func(s *Server) { s.MaxErrors = 7 }},
		{"auth_http url", "auth_http: http://auth.example:8080/a/b?c=1", func(s *Server) {
			s.AuthHTTP = authURL("http://auth.example:8080/a/b?c=1")
		}},
		{"auth_http ipv6", "auth_http: http://[::1]/x", func(s *Server) {
			s.AuthHTTP = authURL("http://[::1]/x")
		}},
		{"auth_http ipv6 port", `auth_http: "[2001:db8::1]:81"`, func(s *Server) {
			s.AuthHTTP = authURL("[2001:db8::1]:81")
		}},
		{"auth_http host", "auth_http: auth.internal", func(s *Server) {
			s.AuthHTTP = authURL("auth.internal")
		}},
		{"auth_http unix", "auth_http: unix:/run/auth.sock:/auth", func(s *Server) {
			s.AuthHTTP = authURL("unix:/run/auth.sock:/auth")
		}},
		{"auth_http unix no uri", "auth_http: http://unix:/run/auth.sock", func(s *Server) {
			s.AuthHTTP = authURL("http://unix:/run/auth.sock")
		}},
		{"auth_http_header order", y("auth_http_header:", "  X-Zeta: 1", "  X-Alpha: two words", `  X-Empty: ""`), func(s *Server) {
			s.AuthHTTPHeader = []Header{{"X-Zeta", "1"}, {"X-Alpha", "two words"}, {"X-Empty", ""}}
		}},
		{"auth_http_header empty", "auth_http_header: {}", func(s *Server) { s.AuthHTTPHeader = []Header{} }},
		{"auth_http_timeout", "auth_http_timeout: 5s", func(s *Server) { s.AuthHTTPTimeout = 5 * time.Second }},
		{"auth_http_keepalive", "auth_http_keepalive: 32", func(s *Server) { s.AuthHTTPKeepalive = 32 }},
		{"auth_http_keepalive_timeout", "auth_http_keepalive_timeout: 10s", func(s *Server) { s.AuthHTTPKeepaliveTimeout = 10 * time.Second }},
		{"proxy", "proxy: on", func(s *Server) {}},
		{"proxy_buffer k", "proxy_buffer: 8k", func(s *Server) { s.ProxyBuffer = 8192 }},
		{"proxy_buffer K", "proxy_buffer: 16K", func(s *Server) { s.ProxyBuffer = 16384 }},
		{"proxy_buffer m", "proxy_buffer: 1m", func(s *Server) { s.ProxyBuffer = 1 << 20 }},
		{"proxy_buffer bytes", "proxy_buffer: 1000", func(s *Server) { s.ProxyBuffer = 1000 }},
		{"proxy_timeout", "proxy_timeout: 10m", func(s *Server) { s.ProxyTimeout = 10 * time.Minute }},
		{"proxy_pass_error_message on", "proxy_pass_error_message: on", func(s *Server) { s.ProxyPassErrorMessage = true }},
		{"proxy_pass_error_message true", "proxy_pass_error_message: true", func(s *Server) { s.ProxyPassErrorMessage = true }},
		{"proxy_pass_error_message off", "proxy_pass_error_message: off", func(s *Server) {}},
		{"proxy_protocol on", "proxy_protocol: on", func(s *Server) { s.ProxyProtocol = "v1" }},
		{"proxy_protocol true", "proxy_protocol: true", func(s *Server) { s.ProxyProtocol = "v1" }},
		{"proxy_protocol v2", "proxy_protocol: v2", func(s *Server) { s.ProxyProtocol = "v2" }},
		{"proxy_protocol off", "proxy_protocol: off", func(s *Server) {}},
		{"proxy_protocol false", "proxy_protocol: false", func(s *Server) {}},
		{"set_real_ip_from", `set_real_ip_from: [10.0.0.0/8, 192.168.1.7, "2001:db8::/32", "::1", 172.16.5.4/12]`, func(s *Server) {
			s.SetRealIPFrom = prefixes("10.0.0.0/8", "192.168.1.7/32", "2001:db8::/32", "::1/128", "172.16.0.0/12")
		}},
		{"set_real_ip_from string", "set_real_ip_from: 127.0.0.1", func(s *Server) { s.SetRealIPFrom = prefixes("127.0.0.1/32") }},
		{"set_real_ip_from empty", "set_real_ip_from: []", func(s *Server) {}},
		{"ssl_protocols", "ssl_protocols: [TLSv1.3]", func(s *Server) { s.SSLProtocols = []string{"TLSv1.3"} }},
		{"ssl_protocols words", "ssl_protocols: tlsv1.1 TLSv1.2 TLSV1.2", func(s *Server) { s.SSLProtocols = []string{"TLSv1.1", "TLSv1.2"} }},
		{"ssl_protocols all", "ssl_protocols: [TLSv1, TLSv1.1, TLSv1.2, TLSv1.3]", func(s *Server) {
			s.SSLProtocols = []string{"TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"}
		}},
		{"ssl_ciphers", "ssl_ciphers: ECDHE+AESGCM:!aNULL", func(s *Server) { s.SSLCiphers = "ECDHE+AESGCM:!aNULL" }},
		{"ssl_certificate", y("ssl_certificate: CERT", "ssl_certificate_key: KEY"), func(s *Server) {
			s.SSLCertificate, s.SSLCertificateKey = []string{f.m["CERT"]}, []string{f.m["KEY"]}
		}},
		{"ssl_certificate lists", y("ssl_certificate: [CERT, CERT2]", "ssl_certificate_key: [KEY, KEY2]"), func(s *Server) {
			s.SSLCertificate, s.SSLCertificateKey = []string{f.m["CERT"], f.m["CERT2"]}, []string{f.m["KEY"], f.m["KEY2"]}
		}},
		{"starttls on", y("starttls: on", "ssl_certificate: CERT", "ssl_certificate_key: KEY"), func(s *Server) {
			s.StartTLS = StartTLSOn
			s.SSLCertificate, s.SSLCertificateKey = []string{f.m["CERT"]}, []string{f.m["KEY"]}
		}},
		{"starttls true", y("starttls: true", "ssl_certificate: CERT", "ssl_certificate_key: KEY"), func(s *Server) {
			s.StartTLS = StartTLSOn
			s.SSLCertificate, s.SSLCertificateKey = []string{f.m["CERT"]}, []string{f.m["KEY"]}
		}},
		{"starttls only", y("starttls: ONLY", "ssl_certificate: CERT", "ssl_certificate_key: KEY"), func(s *Server) {
			s.StartTLS = StartTLSOnly
			s.SSLCertificate, s.SSLCertificateKey = []string{f.m["CERT"]}, []string{f.m["KEY"]}
		}},
		{"starttls off", "starttls: off", func(s *Server) {}},
		{"starttls false", "starttls: false", func(s *Server) {}},
		{"imap_auth", "imap_auth: [PLAIN, Login, cram-md5, external, plain]", func(s *Server) {
			s.IMAPAuth = []string{"plain", "login", "cram-md5", "external"}
		}},
		{"imap_auth string", "imap_auth: login plain", func(s *Server) { s.IMAPAuth = []string{"login", "plain"} }},
		{"imap_capabilities", `imap_capabilities: [IMAP4rev1, "LITERAL+", ID, "SORT=DISPLAY"]`, func(s *Server) {
			s.IMAPCapabilities = []string{"IMAP4rev1", "LITERAL+", "ID", "SORT=DISPLAY"}
		}},
		{"imap_capabilities string", "imap_capabilities: IMAP4rev1", func(s *Server) { s.IMAPCapabilities = []string{"IMAP4rev1"} }},
		{"imap_client_buffer", "imap_client_buffer: 8k", func(s *Server) { s.IMAPClientBuffer = 8192 }},
	}
	for _, tc := range cases {
		text := f.sub(tc.text)
		setsAuth := strings.HasPrefix(text, "auth_http:")
		t.Run(tc.name+"/server", func(t *testing.T) {
			cfg := mustParse(t, "mail:\n  auth_http: 127.0.0.1:9000\nservers:\n  - listen: [143]\n"+indent(text, 4))
			want := defaultServer(4)
			tc.want(&want)
			checkServer(t, cfg.Servers[0], want)
		})
		t.Run(tc.name+"/mail", func(t *testing.T) {
			head := "mail:\n"
			if !setsAuth {
				head += "  auth_http: 127.0.0.1:9000\n"
			}
			head += indent(text, 2) + "servers:\n"
			cfg := mustParse(t, head+"  - listen: [143]\n")
			want := defaultServer(strings.Count(head, "\n") + 1)
			tc.want(&want)
			checkServer(t, cfg.Servers[0], want)
		})
	}
}

func TestProtocol(t *testing.T) {
	cases := []struct {
		listen, protocol, want string
	}{
		{"[143]", "", "imap"},
		{"[993]", "", "imap"},
		{"[110]", "", "pop3"},
		{"[995]", "", "pop3"},
		{"[25]", "", "smtp"},
		{"[465]", "", "smtp"},
		{"[587]", "", "smtp"},
		{"[10143, 995, 143]", "", "pop3"}, // the first well-known port decides
		{"[10143]", "imap", "imap"},
		{"[143]", "pop3", "pop3"},
		{"[143]", "SMTP", "smtp"},
	}
	for _, tc := range cases {
		text := "mail: {auth_http: 127.0.0.1:9000}\nservers:\n  - listen: " + tc.listen + "\n"
		if tc.protocol != "" {
			text += "    protocol: " + tc.protocol + "\n"
		}
		if got := mustParse(t, text).Servers[0].Protocol; got != tc.want {
			t.Errorf("listen %s protocol %q: got %q, want %q", tc.listen, tc.protocol, got, tc.want)
		}
	}
}

func TestListen(t *testing.T) {
	f := newFixtures(t)
	cases := []struct {
		name string
		text string // lines after "  - protocol: imap" (line 3)
		want []Listen
	}{
		{"int port", "    listen: [143]", []Listen{{Address: ":143", Line: 4}}},
		{"string port", `    listen: ["143"]`, []Listen{{Address: ":143", Line: 4}}},
		{"star", `    listen: ["*:143"]`, []Listen{{Address: ":143", Line: 4}}},
		{"go wildcard", `    listen: [":143"]`, []Listen{{Address: ":143", Line: 4}}},
		{"single scalar", "    listen: 127.0.0.1:143", []Listen{{Address: "127.0.0.1:143", Line: 4}}},
		{"ipv6", `    listen: ["[::1]:143", "[2001:DB8::0001]:144"]`, []Listen{{Address: "[::1]:143", Line: 4}, {Address: "[2001:db8::1]:144", Line: 4}}},
		{"block list", y("    listen:", "      - 127.0.0.1:143", "      - 127.0.0.2:143"), []Listen{{Address: "127.0.0.1:143", Line: 5}, {Address: "127.0.0.2:143", Line: 6}}},
		{"nginx parameters", y(`    listen: ["0.0.0.0:993 ssl proxy_protocol", "1.2.3.4:143 proxy_protocol"]`, "    ssl_certificate: CERT", "    ssl_certificate_key: KEY"),
			[]Listen{{Address: "0.0.0.0:993", SSL: true, ProxyProtocol: true, Line: 4}, {Address: "1.2.3.4:143", ProxyProtocol: true, Line: 4}}},
		{"map", y("    listen:", "      - address: 993", "        ssl: on", `        proxy_protocol: "yes"`, "      - {address: 10.0.0.1:143, ssl: false}", "    ssl_certificate: CERT", "    ssl_certificate_key: KEY"),
			[]Listen{{Address: ":993", SSL: true, ProxyProtocol: true, Line: 5}, {Address: "10.0.0.1:143", Line: 8}}},
		{"port 0 twice", `    listen: ["127.0.0.1:0", "127.0.0.1:0"]`, []Listen{{Address: "127.0.0.1:0", Line: 4}, {Address: "127.0.0.1:0", Line: 4}}},
		{"v4 and v6 wildcards", `    listen: ["0.0.0.0:143", "[::]:143"]`, []Listen{{Address: "0.0.0.0:143", Line: 4}, {Address: "[::]:143", Line: 4}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := mustParse(t, "mail: {auth_http: 127.0.0.1:9000}\nservers:\n  - protocol: imap\n"+f.sub(tc.text)+"\n")
			if got := cfg.Servers[0].Listen; !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestInheritance(t *testing.T) {
	f := newFixtures(t)
	cfg := mustParse(t, f.sub(y(
		"mail:",
		"  auth_http: 127.0.0.1:9000",
		"  auth_http_header: {X-A: a, X-B: b}",
		"  timeout: 30s",
		"  server_name: mail.example",
		"  imap_capabilities: [IMAP4rev1, ID]",
		"  imap_auth: [plain, login]",
		"  set_real_ip_from: [10.0.0.0/8, 192.168.0.0/16]",
		"  ssl_certificate: [CERT, CERT2]",
		"  ssl_certificate_key: [KEY, KEY2]",
		"  starttls: on",
		"  proxy_protocol: v2",
		"servers:",
		"  - listen: [143]",
		"    auth_http: http://auth2:81/x",
		"    auth_http_header: {X-C: c}",
		"    timeout: 10s",
		"    imap_capabilities: [IMAP4]",
		"    imap_auth: cram-md5",
		"    set_real_ip_from: [127.0.0.1]",
		"    ssl_certificate: CERT2",
		"    ssl_certificate_key: KEY2",
		"    starttls: off",
		"    proxy_protocol: off",
		"  - listen: [110]",
		"  - listen: [25]",
		"    set_real_ip_from: []",
		"    auth_http_header: {}",
	)))
	if len(cfg.Servers) != 3 {
		t.Fatalf("%d servers", len(cfg.Servers))
	}

	first := defaultServer(14)
	first.AuthHTTP = authURL("http://auth2:81/x")
	first.AuthHTTPHeader = []Header{{"X-C", "c"}}
	first.Timeout = 10 * time.Second
	first.ServerName = "mail.example"
	first.IMAPCapabilities = []string{"IMAP4"}
	first.IMAPAuth = []string{"cram-md5"}
	first.SetRealIPFrom = prefixes("127.0.0.1/32")
	first.SSLCertificate, first.SSLCertificateKey = []string{f.m["CERT2"]}, []string{f.m["KEY2"]}
	checkServer(t, cfg.Servers[0], first)

	second := defaultServer(25)
	second.Protocol = "pop3"
	second.Listen = []Listen{{Address: ":110", Line: 25}}
	second.AuthHTTPHeader = []Header{{"X-A", "a"}, {"X-B", "b"}}
	second.Timeout = 30 * time.Second
	second.ServerName = "mail.example"
	second.IMAPCapabilities = []string{"IMAP4rev1", "ID"}
	second.IMAPAuth = []string{"plain", "login"}
	second.SetRealIPFrom = prefixes("10.0.0.0/8", "192.168.0.0/16")
	second.SSLCertificate, second.SSLCertificateKey = []string{f.m["CERT"], f.m["CERT2"]}, []string{f.m["KEY"], f.m["KEY2"]}
	second.StartTLS = StartTLSOn
	second.ProxyProtocol = "v2"
	checkServer(t, cfg.Servers[1], second)

	third := second
	third.Line = 26
	third.Protocol = "smtp"
	third.Listen = []Listen{{Address: ":25", Line: 26}}
	third.SetRealIPFrom = nil
	third.AuthHTTPHeader = nil
	checkServer(t, cfg.Servers[2], third)

	// Servers do not share list storage.
	cfg.Servers[1].IMAPCapabilities[0] = "changed"
	if cfg.Servers[2].IMAPCapabilities[0] != "IMAP4rev1" {
		t.Error("servers share the inherited imap_capabilities slice")
	}
}

func TestRelativeCertificatePaths(t *testing.T) {
	f := newFixtures(t)
	text := y(
		"mail: {auth_http: 127.0.0.1:9000}",
		"servers:",
		"  - listen: [993 ssl]",
		"    ssl_certificate: one.crt",
		"    ssl_certificate_key: ./one.key",
	)
	name := filepath.Join(f.dir, "mailproxy.yaml")
	if err := os.WriteFile(name, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(name)
	if err != nil {
		t.Fatal(err)
	}
	s := cfg.Servers[0]
	if s.SSLCertificate[0] != f.m["CERT"] || s.SSLCertificateKey[0] != f.m["KEY"] {
		t.Errorf("paths %q %q, want %q %q", s.SSLCertificate, s.SSLCertificateKey, f.m["CERT"], f.m["KEY"])
	}
	if cfg.File != name {
		t.Errorf("File = %q, want %q", cfg.File, name)
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.yaml"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("err = %v, want fs.ErrNotExist", err)
	}
}

func TestErrorType(t *testing.T) {
	_, err := Parse("x.yaml", []byte("servers:\n  - listen: [143]\n    timeout: nope\n    bogus: 1\n"))
	var e *Error
	if !errors.As(err, &e) || len(e.Problems) != 3 {
		t.Fatalf("err = %#v", err)
	}
	var p Problem
	if !errors.As(err, &p) || p.File != "x.yaml" || p.Line != 2 {
		t.Errorf("errors.As Problem = %+v", p)
	}
	if e.Problems[1] != (Problem{File: "x.yaml", Line: 3, Msg: `timeout: invalid duration "nope" (examples: 60s, 5m, 1h30m, 500ms)`}) {
		t.Errorf("problem = %+v", e.Problems[1])
	}
}

func TestDefaultServerName(t *testing.T) {
	old := hostname
	defer func() { hostname = old }()
	for in, want := range map[string]string{"Box": "box", "Web1.Example.com": "web1.example.com", "": "localhost"} {
		hostname = func() (string, error) { return in, nil }
		if got := defaultServerName(); got != want {
			t.Errorf("host name %q: server_name %q, want %q", in, got, want)
		}
	}
	hostname = func() (string, error) { return "", errors.New("boom") }
	if got := defaultServerName(); got != "localhost" {
		t.Errorf("failing os.Hostname: %q", got)
	}
}

func TestAliases(t *testing.T) {
	cfg := mustParse(t, y(
		"mail:",
		"  auth_http: 127.0.0.1:9000",
		"  imap_capabilities: &caps [IMAP4rev1, ID]",
		"servers:",
		"  - &first",
		"    listen: [143]",
		"    timeout: &t 30s",
		"  - listen: [110]",
		"    imap_capabilities: *caps",
		"    proxy_timeout: *t",
	))
	if got := cfg.Servers[1].IMAPCapabilities; !reflect.DeepEqual(got, []string{"IMAP4rev1", "ID"}) {
		t.Errorf("imap_capabilities %q", got)
	}
	if got := cfg.Servers[1].ProxyTimeout; got != 30*time.Second {
		t.Errorf("proxy_timeout %v", got)
	}
	// An anchored node starts at its anchor.
	if got := cfg.Servers[0].Line; got != 5 {
		t.Errorf("line of the anchored server %d, want 5", got)
	}
}
