package authhttp

import (
	"os"
	"path/filepath"
	"testing"
)

var (
	imapXOAUTH2 = &Request{Method: MethodXOAUTH2, Protocol: "imap", User: "alice", Pass: "tok", LoginAttempt: 1, ClientIP: "127.0.0.1"}
	smtpBearer  = &Request{Method: MethodOAuthBearer, Protocol: "smtp", User: "alice", Pass: "tok", LoginAttempt: 1, ClientIP: "127.0.0.1"}
)

// TestParseResponseOAuth: Auth-Error-SASL counts for the OAuth methods
// only (as freenginx's auth_method check), Auth-Backend-Method is
// checked only on an OK answer.
func TestParseResponseOAuth(t *testing.T) {
	const errJSON = "eyJzdGF0dXMiOiJpbnZhbGlkX3Rva2VuIn0="
	cases := []respCase{
		{name: "error challenge", head: statusLine + "Auth-Status: Invalid token\r\nAuth-Error-SASL: " + errJSON + "\r\nAuth-Wait: 3\r\n\r\n", req: imapXOAUTH2,
			want: &Response{Status: StatusFail, Text: "Invalid token", Wait: 3e9, ErrorSASL: errJSON, HasErrorSASL: true}},
		{name: "empty error challenge", head: statusLine + "Auth-Status: No\r\nauth-error-sasl:\r\n\r\n", req: smtpBearer,
			want: &Response{Status: StatusFail, Text: "No", HasErrorSASL: true}},
		{name: "last error challenge wins", head: statusLine + "Auth-Status: No\r\nAuth-Error-SASL: a\r\nAuth-Error-SASL: b\r\n\r\n", req: imapXOAUTH2,
			want: &Response{Status: StatusFail, Text: "No", ErrorSASL: "b", HasErrorSASL: true}},
		{name: "error challenge ignored for plain", head: statusLine + "Auth-Status: No\r\nAuth-Error-SASL: abc\r\n\r\n", req: imapPlain,
			want: &Response{Status: StatusFail, Text: "No", ErrorSASL: "abc"}},
		{name: "oauth ok", head: statusLine + okHeaders + "\r\n", req: imapXOAUTH2, want: okResp()},
		{name: "backend method", head: statusLine + okHeaders + "Auth-Backend-Method: XOAUTH2\r\n\r\n", req: imapXOAUTH2,
			want: &Response{Status: StatusOK, Server: backend, Upstream: "127.0.0.1:14001", BackendMethod: MethodXOAUTH2}},
		{name: "backend method oauthbearer", head: statusLine + okHeaders + "auth-backend-method: oauthbearer\r\n\r\n", req: smtpBearer,
			want: &Response{Status: StatusOK, Server: backend, Upstream: "127.0.0.1:14001", BackendMethod: MethodOAuthBearer}},
		{name: "unknown backend method", head: statusLine + okHeaders + "Auth-Backend-Method: plain\r\n\r\n", req: imapXOAUTH2,
			respErr: InvalidBackendMethod, value: "plain"},
		{name: "empty backend method", head: statusLine + okHeaders + "Auth-Backend-Method:\r\n\r\n", req: imapXOAUTH2,
			respErr: InvalidBackendMethod, value: ""},
		{name: "backend method on failure ignored", head: statusLine + "Auth-Status: No\r\nAuth-Backend-Method: bogus\r\n\r\n", req: imapXOAUTH2,
			want: &Response{Status: StatusFail, Text: "No"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseResponse([]byte(tc.head), tc.req)
			checkResult(t, tc, got, err)
		})
	}
}

// oauthGoldenCases pin the request of an OAuth login (freenginx's
// Auth-Method values) and the client details that only
// auth_http_pass_client_details adds; the other golden cases show that
// none of them appears otherwise. TestRequestGolden runs them.
func oauthGoldenCases() []goldenCase {
	return []goldenCase{
		{name: "xoauth2", host: "127.0.0.1", uri: "/auth", r: Request{
			Method: MethodXOAUTH2, User: "alice@example.com", Pass: "ya29.a0Af H%", Protocol: "imap",
			LoginAttempt: 1, ClientIP: "192.0.2.10", Salt: "<not sent>",
		}},
		{name: "oauthbearer-smtp", host: "127.0.0.1", uri: "/auth", r: Request{
			Method: MethodOAuthBearer, User: "bob", Pass: "vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==", Protocol: "smtp",
			LoginAttempt: 2, ClientIP: "192.0.2.10", ClientHost: "client.example.org",
		}},
		{name: "client-details", host: "127.0.0.1", uri: "/auth", r: Request{
			Method: MethodPlain, User: "alice", Pass: "pw", Protocol: "imap",
			LoginAttempt: 1, ClientIP: "192.0.2.7", ClientPort: "51234",
			ServerAddr: "203.0.113.1", ServerPort: "143",
			IMAPID: `("name" "Thunderbird" "version" "115.3.1" "x-note" "a\"b%")`,
			Proxy:  &ProxyInfo{SrcAddr: "192.0.2.7", SrcPort: "51234", DstAddr: "203.0.113.1", DstPort: "143"},
			SSL:    &SSLInfo{Protocol: "TLSv1.3", Cipher: "TLS_AES_128_GCM_SHA256"},
		}, extra: []Header{{"X-Auth-Key", "k"}}},
		{name: "client-details-smtp", host: "127.0.0.1", uri: "/auth", r: Request{
			Method: MethodPlain, User: "u", Pass: "p", Protocol: "smtp",
			LoginAttempt: 1, ClientIP: "2001:db8::7", ClientPort: "40000", ClientHost: "[UNAVAILABLE]",
			ServerAddr: "2001:db8::1", ServerPort: "587",
		}},
	}
}

// TestClientDetailsTranscribed pins the client-details golden file by
// hand: where the new headers go and how the IMAP ID is escaped.
func TestClientDetailsTranscribed(t *testing.T) {
	want := "GET /auth HTTP/1.0\r\n" +
		"Host: 127.0.0.1\r\n" +
		"Auth-Method: plain\r\n" +
		"Auth-User: alice\r\n" +
		"Auth-Pass: pw\r\n" +
		"Auth-Protocol: imap\r\n" +
		"Auth-Login-Attempt: 1\r\n" +
		"Client-IP: 192.0.2.7\r\n" +
		"Client-Port: 51234\r\n" +
		"Server-Addr: 203.0.113.1\r\n" +
		"Server-Port: 143\r\n" +
		`Client-IMAP-ID: ("name"%20"Thunderbird"%20"version"%20"115.3.1"%20"x-note"%20"a\"b%25")` + "\r\n" +
		"Proxy-Protocol-Addr: 192.0.2.7\r\n" +
		"Proxy-Protocol-Port: 51234\r\n" +
		"Proxy-Protocol-Server-Addr: 203.0.113.1\r\n" +
		"Proxy-Protocol-Server-Port: 143\r\n" +
		"Auth-SSL: on\r\n" +
		"Auth-SSL-Protocol: TLSv1.3\r\n" +
		"Auth-SSL-Cipher: TLS_AES_128_GCM_SHA256\r\n" +
		"X-Auth-Key: k\r\n" +
		"\r\n"
	got, err := os.ReadFile(filepath.Join("testdata", "client-details.golden"))
	if err != nil || string(got) != want {
		t.Fatalf("client-details.golden:\n%s\nwant:\n%s (%v)", quoteLines(got), quoteLines([]byte(want)), err)
	}
}
