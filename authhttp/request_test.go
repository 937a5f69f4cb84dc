package authhttp

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite authhttp/testdata/*.golden from the current output")

type goldenCase struct {
	name      string
	host, uri string
	r         Request
	extra     []Header
}

// testCert is a short PEM-shaped certificate; only its bytes matter here.
const testCert = "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\nAbCd+/=\n-----END CERTIFICATE-----\n"

func goldenCases() []goldenCase {
	return []goldenCase{
		{name: "plain-imap-login", host: "127.0.0.1", uri: "/auth", r: Request{
			Method: MethodPlain, User: "alice", Pass: "pw", Protocol: "imap",
			LoginAttempt: 1, ClientIP: "127.0.0.1",
		}},
		{name: "login-method-is-plain", host: "127.0.0.1", uri: "/auth", r: Request{
			Method: "login", User: "u", Pass: "p", Protocol: "smtp",
			LoginAttempt: 1, ClientIP: "127.0.0.1", ClientHost: "[UNAVAILABLE]",
		}},
		{name: "cram-md5-salt", host: "127.0.0.1", uri: "/auth", r: Request{
			Method: MethodCRAMMD5, User: "user", Pass: "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz",
			Salt: "<1804289383.1700000000@mx.example.com>", Protocol: "imap",
			LoginAttempt: 1, ClientIP: "127.0.0.1",
		}},
		{name: "apop", host: "127.0.0.1", uri: "/auth", r: Request{
			Method: MethodAPOP, User: "bob", Pass: "c4c9334bac560ecc979e58001b3e22fb",
			Salt: "<1804289383.1700000000@mail.example.com>\r\n", Protocol: "pop3",
			LoginAttempt: 3, ClientIP: "192.0.2.10",
		}},
		{name: "external-no-salt", host: "127.0.0.1", uri: "/auth", r: Request{
			Method: MethodExternal, User: "ext", Salt: "<1.2@mx.example.com>",
			Protocol: "pop3", LoginAttempt: 1, ClientIP: "127.0.0.1",
		}},
		{name: "smtp-none", host: "127.0.0.1", uri: "/auth", r: Request{
			Method: MethodNone, Protocol: "smtp", LoginAttempt: 2, ClientIP: "127.0.0.1",
			ClientHost: "[UNAVAILABLE]", SMTPHelo: "e", SMTPFrom: "MAIL FROM:<a@b>",
			SMTPTo: "RCPT TO:<c@d>",
		}},
		{name: "smtp-none-empty-helo", host: "127.0.0.1", uri: "/auth", r: Request{
			Method: MethodNone, Protocol: "smtp", LoginAttempt: 1, ClientIP: "127.0.0.1",
			ClientHost: "[TEMPUNAVAIL]", SMTPFrom: "MAIL FROM:<>", SMTPTo: "RCPT TO:<x@y>",
		}},
		{name: "smtp-client-host", host: "127.0.0.1", uri: "/auth", r: Request{
			Method: MethodPlain, User: "u", Pass: "p", Protocol: "smtp",
			LoginAttempt: 1, ClientIP: "192.0.2.10", ClientHost: "client.example.org",
			SMTPHelo: "not sent", SMTPFrom: "not sent", SMTPTo: "not sent",
		}},
		{name: "imap-client-host-not-sent", host: "127.0.0.1", uri: "/auth", r: Request{
			Method: MethodPlain, User: "u", Pass: "p", Protocol: "imap",
			LoginAttempt: 1, ClientIP: "192.0.2.10", ClientHost: "client.example.org",
		}},
		{name: "proxy-protocol", host: "127.0.0.1", uri: "/auth", r: Request{
			Method: MethodPlain, User: "u", Pass: "p", Protocol: "smtp",
			LoginAttempt: 1, ClientIP: "127.0.0.1", ClientHost: "[UNAVAILABLE]",
			Proxy: &ProxyInfo{SrcAddr: "2001:db8::1", SrcPort: "1000", DstAddr: "2001:db8::2", DstPort: "25"},
		}},
		{name: "tls-all-fields", host: "auth.internal", uri: "/auth?x=1", r: Request{
			Method: MethodExternal, User: "client", Protocol: "imap",
			LoginAttempt: 1, ClientIP: "2001:db8::10",
			SSL: &SSLInfo{
				Protocol: "TLSv1.3", Cipher: "TLS_AES_256_GCM_SHA384", Verify: "SUCCESS",
				Subject: "CN=client,O=Example", Issuer: "CN=Test CA,O=Example",
				Serial: "01AB", Fingerprint: "0123456789abcdef0123456789abcdef01234567",
				Cert: testCert,
			},
		}},
		{name: "tls-verify-none", host: "127.0.0.1", uri: "/auth", r: Request{
			Method: MethodPlain, User: "u", Pass: "p", Protocol: "pop3",
			LoginAttempt: 1, ClientIP: "127.0.0.1",
			SSL: &SSLInfo{Protocol: "TLSv1.2", Cipher: "ECDHE-RSA-AES256-GCM-SHA384", Verify: "NONE"},
		}},
		{name: "custom-headers", host: "127.0.0.1", uri: "/auth", r: Request{
			Method: MethodPlain, User: "u", Pass: "p", Protocol: "imap",
			LoginAttempt: 1, ClientIP: "127.0.0.1",
			SSL: &SSLInfo{Protocol: "TLSv1.2", Cipher: "ECDHE-RSA-AES128-GCM-SHA256"},
		}, extra: []Header{{"X-Auth-Key", "secret value"}, {"X-Zone", "eu"}}},
		{name: "escaping", host: "127.0.0.1", uri: "/auth", r: Request{
			Method: MethodPlain, User: "john doe%\t\x00\x1f",
			Pass: "\xc3\xbc\r\n\x7f+&=:\"'~%41", Protocol: "imap",
			LoginAttempt: 1, ClientIP: "127.0.0.1",
		}},
		{name: "escaping-conformance", host: "127.0.0.1", uri: "/auth", r: Request{
			Method: MethodPlain, User: "j\x01%+&=:\x7f\xc3", Pass: "\xc3\xbc\t \r\n",
			Protocol: "imap", LoginAttempt: 1, ClientIP: "127.0.0.1",
		}},
		{name: "unix-socket", host: "localhost", uri: "/", r: Request{
			Method: MethodPlain, User: "u", Pass: "p", Protocol: "imap",
			LoginAttempt: 12, ClientIP: "unix:",
		}},
		{name: "spec-9.5-imap-login-tls", host: "127.0.0.1", uri: "/auth", r: Request{
			Method: MethodPlain, User: "alice", Pass: "s3cret", Protocol: "imap",
			LoginAttempt: 1, ClientIP: "192.0.2.10",
			SSL: &SSLInfo{Protocol: "TLSv1.3", Cipher: "TLS_AES_256_GCM_SHA384"},
		}, extra: []Header{{"X-Auth-Key", "k"}}},
		{name: "spec-9.5-pop3-apop-proxy", host: "auth.internal", uri: "/auth", r: Request{
			Method: MethodAPOP, User: "bob", Pass: "c4c9334bac560ecc979e58001b3e22fb",
			Salt: "<1804289383.1700000000@mail.example.com>", Protocol: "pop3",
			LoginAttempt: 2, ClientIP: "198.51.100.7",
			Proxy: &ProxyInfo{SrcAddr: "198.51.100.7", SrcPort: "51515", DstAddr: "203.0.113.1", DstPort: "110"},
		}},
		{name: "spec-9.5-smtp-none", host: "127.0.0.1", uri: "/auth", r: Request{
			Method: MethodNone, Protocol: "smtp", LoginAttempt: 1, ClientIP: "192.0.2.10",
			ClientHost: "[UNAVAILABLE]", SMTPHelo: "client.example.org",
			SMTPFrom: "MAIL FROM:<> SIZE=1024", SMTPTo: "RCPT TO:<postmaster@example.com>",
		}},
		{name: "failover", host: "127.0.0.1", uri: "/auth", r: Request{
			Method: MethodPlain, User: "alice", Pass: "pw", Protocol: "imap",
			LoginAttempt: 2, ClientIP: "127.0.0.1", SSL: &SSLInfo{Protocol: "TLSv1.3", Cipher: "TLS_AES_128_GCM_SHA256"},
			FailedServer: "10.0.0.5:143", FailedReason: "connect",
		}, extra: []Header{{"X-Auth-Key", "k"}}},
		{name: "spec-9.5-smtp-cram-md5", host: "127.0.0.1", uri: "/auth", r: Request{
			Method: MethodCRAMMD5, User: "carol", Pass: "0123456789abcdef0123456789abcdef",
			Salt: "<846930886.1700000000@mx.example.com>", Protocol: "smtp",
			LoginAttempt: 1, ClientIP: "192.0.2.10", ClientHost: "client.example.org",
		}},
	}
}

func TestRequestGolden(t *testing.T) {
	for _, tc := range append(goldenCases(), oauthGoldenCases()...) {
		t.Run(tc.name, func(t *testing.T) {
			got := AppendRequest(nil, tc.host, tc.uri, &tc.r, tc.extra)
			path := filepath.Join("testdata", tc.name+".golden")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./authhttp -update)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("request differs from %s\n got: %s\nwant: %s", path, quoteLines(got), quoteLines(want))
			}
		})
	}
}

// specExamples are the requests of SPEC §9.5, transcribed by hand; they pin
// the spec-* golden files independently of -update.
var specExamples = map[string]string{
	"spec-9.5-imap-login-tls": "GET /auth HTTP/1.0\r\n" +
		"Host: 127.0.0.1\r\n" +
		"Auth-Method: plain\r\n" +
		"Auth-User: alice\r\n" +
		"Auth-Pass: s3cret\r\n" +
		"Auth-Protocol: imap\r\n" +
		"Auth-Login-Attempt: 1\r\n" +
		"Client-IP: 192.0.2.10\r\n" +
		"Auth-SSL: on\r\n" +
		"Auth-SSL-Protocol: TLSv1.3\r\n" +
		"Auth-SSL-Cipher: TLS_AES_256_GCM_SHA384\r\n" +
		"X-Auth-Key: k\r\n" +
		"\r\n",
	"spec-9.5-pop3-apop-proxy": "GET /auth HTTP/1.0\r\n" +
		"Host: auth.internal\r\n" +
		"Auth-Method: apop\r\n" +
		"Auth-User: bob\r\n" +
		"Auth-Pass: c4c9334bac560ecc979e58001b3e22fb\r\n" +
		"Auth-Salt: <1804289383.1700000000@mail.example.com>\r\n" +
		"Auth-Protocol: pop3\r\n" +
		"Auth-Login-Attempt: 2\r\n" +
		"Client-IP: 198.51.100.7\r\n" +
		"Proxy-Protocol-Addr: 198.51.100.7\r\n" +
		"Proxy-Protocol-Port: 51515\r\n" +
		"Proxy-Protocol-Server-Addr: 203.0.113.1\r\n" +
		"Proxy-Protocol-Server-Port: 110\r\n" +
		"\r\n",
	"spec-9.5-smtp-none": "GET /auth HTTP/1.0\r\n" +
		"Host: 127.0.0.1\r\n" +
		"Auth-Method: none\r\n" +
		"Auth-User: \r\n" +
		"Auth-Pass: \r\n" +
		"Auth-Protocol: smtp\r\n" +
		"Auth-Login-Attempt: 1\r\n" +
		"Client-IP: 192.0.2.10\r\n" +
		"Client-Host: [UNAVAILABLE]\r\n" +
		"Auth-SMTP-Helo: client.example.org\r\n" +
		"Auth-SMTP-From: MAIL FROM:<> SIZE=1024\r\n" +
		"Auth-SMTP-To: RCPT TO:<postmaster@example.com>\r\n" +
		"\r\n",
	"spec-9.5-smtp-cram-md5": "GET /auth HTTP/1.0\r\n" +
		"Host: 127.0.0.1\r\n" +
		"Auth-Method: cram-md5\r\n" +
		"Auth-User: carol\r\n" +
		"Auth-Pass: 0123456789abcdef0123456789abcdef\r\n" +
		"Auth-Salt: <846930886.1700000000@mx.example.com>\r\n" +
		"Auth-Protocol: smtp\r\n" +
		"Auth-Login-Attempt: 1\r\n" +
		"Client-IP: 192.0.2.10\r\n" +
		"Client-Host: client.example.org\r\n" +
		"\r\n",
	// conformance case imap-auth-request-escaping
	"escaping-conformance": "GET /auth HTTP/1.0\r\n" +
		"Host: 127.0.0.1\r\n" +
		"Auth-Method: plain\r\n" +
		"Auth-User: j%01%25+&=:\x7f\xc3\r\n" +
		"Auth-Pass: \xc3\xbc%09%20%0D%0A\r\n" +
		"Auth-Protocol: imap\r\n" +
		"Auth-Login-Attempt: 1\r\n" +
		"Client-IP: 127.0.0.1\r\n" +
		"\r\n",
}

func TestRequestSpecExamples(t *testing.T) {
	byName := map[string]goldenCase{}
	for _, tc := range goldenCases() {
		byName[tc.name] = tc
	}
	for name, want := range specExamples {
		tc, ok := byName[name]
		if !ok {
			t.Fatalf("no golden case %s", name)
		}
		got := AppendRequest(nil, tc.host, tc.uri, &tc.r, tc.extra)
		if string(got) != want {
			t.Errorf("%s\n got: %s\nwant: %s", name, quoteLines(got), quoteLines([]byte(want)))
		}
		file, err := os.ReadFile(filepath.Join("testdata", name+".golden"))
		if err == nil && string(file) != want {
			t.Errorf("testdata/%s.golden does not hold the SPEC bytes", name)
		}
	}
}

func TestClientAppendRequestMatchesFunction(t *testing.T) {
	for _, tc := range goldenCases() {
		c := &Client{t: target{host: tc.host, uri: tc.uri}}
		c.prefix = appendRequestLine(nil, tc.host, tc.uri)
		c.suffix = append(appendCustom(nil, tc.extra), "\r\n"...)
		got := c.AppendRequest([]byte("keep"), &tc.r)
		want := AppendRequest([]byte("keep"), tc.host, tc.uri, &tc.r, tc.extra)
		if !bytes.Equal(got, want) {
			t.Errorf("%s: Client.AppendRequest differs from AppendRequest", tc.name)
		}
	}
}

func TestRequestOmissions(t *testing.T) {
	base := Request{Method: MethodPlain, User: "u", Pass: "p", Protocol: "imap", LoginAttempt: 1, ClientIP: "1.2.3.4"}
	tests := []struct {
		name    string
		mod     func(r *Request)
		absent  []string
		present []string
	}{
		{"salt not for plain", func(r *Request) { r.Salt = "<s>" }, []string{"Auth-Salt"}, nil},
		{"salt not for external", func(r *Request) { r.Method = MethodExternal; r.Salt = "<s>" }, []string{"Auth-Salt"}, nil},
		{"salt not for none", func(r *Request) { r.Method = MethodNone; r.Salt = "<s>" }, []string{"Auth-Salt"}, []string{"Auth-SMTP-Helo: \r\n"}},
		{"empty salt for apop", func(r *Request) { r.Method = MethodAPOP }, []string{"Auth-Salt"}, nil},
		{"salt crlf trimmed", func(r *Request) { r.Method = MethodCRAMMD5; r.Salt = "<s>\r\n" }, nil, []string{"Auth-Salt: <s>\r\nAuth-Protocol"}},
		{"smtp without host", func(r *Request) { r.Protocol = "smtp" }, []string{"Client-Host"}, nil},
		{"no ssl", func(r *Request) {}, []string{"Auth-SSL"}, nil},
		{"ssl empty", func(r *Request) { r.SSL = &SSLInfo{} }, []string{"Auth-SSL-"}, []string{"Auth-SSL: on\r\n\r\n"}},
		{"ssl subject without verify", func(r *Request) { r.SSL = &SSLInfo{Subject: "CN=x"} }, []string{"Auth-SSL-Verify"}, []string{"Auth-SSL-Subject: CN=x\r\n"}},
		{"cert escaped", func(r *Request) { r.SSL = &SSLInfo{Cert: "a b\nc"} }, nil, []string{"Auth-SSL-Cert: a%20b%0Ac\r\n"}},
		{"smtp values verbatim", func(r *Request) { r.Method = MethodNone; r.SMTPHelo = "a b%" }, nil, []string{"Auth-SMTP-Helo: a b%\r\n"}},
		{"attempt number", func(r *Request) { r.LoginAttempt = 1234567 }, nil, []string{"Auth-Login-Attempt: 1234567\r\n"}},
		{"empty method", func(r *Request) { r.Method = "" }, nil, []string{"Auth-Method: plain\r\n"}},
	}
	for _, tt := range tests {
		r := base
		tt.mod(&r)
		got := string(AppendRequest(nil, "h", "/", &r, nil))
		for _, s := range tt.absent {
			if strings.Contains(got, s) {
				t.Errorf("%s: %q present in %s", tt.name, s, quoteLines([]byte(got)))
			}
		}
		for _, s := range tt.present {
			if !strings.Contains(got, s) {
				t.Errorf("%s: %q missing in %s", tt.name, s, quoteLines([]byte(got)))
			}
		}
	}
}

// quoteLines renders a request one quoted line per line for diffs.
func quoteLines(b []byte) string {
	var sb strings.Builder
	for _, l := range bytes.SplitAfter(b, []byte("\n")) {
		if len(l) > 0 {
			sb.WriteString("\n\t" + strconv.Quote(string(l)))
		}
	}
	return sb.String()
}
