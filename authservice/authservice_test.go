package authservice

import (
	"bufio"
	"bytes"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// hdr is a request's auth_http headers (values as nginx sends them).
type hdr map[string]string

// newService builds a Service on goodUsers with opts and a log buffer.
func newService(t *testing.T, opts Options) (*Service, *bytes.Buffer) {
	t.Helper()
	var logBuf bytes.Buffer
	opts.Users = mustParse(t, goodUsers)
	opts.Logger = slog.New(slog.NewTextHandler(&logBuf, nil))
	s, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s, &logBuf
}

// ask sends one request with h through ServeHTTP and returns the answer.
func ask(t *testing.T, s *Service, h hdr) *http.Response {
	t.Helper()
	r := httptest.NewRequest("GET", "/auth", nil)
	for k, v := range h {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	s.ServeHTTP(w, r)
	res := w.Result()
	if body, _ := io.ReadAll(res.Body); len(body) != 0 {
		t.Errorf("response body %q, want empty", body)
	}
	return res
}

// login is a plain IMAP first attempt for user/pass (already escaped).
func login(user, pass string) hdr {
	return hdr{
		"Auth-Method": "plain", "Auth-User": user, "Auth-Pass": pass,
		"Auth-Protocol": "imap", "Auth-Login-Attempt": "1", "Client-IP": "192.0.2.10",
	}
}

// with returns a copy of h with kv pairs set ("" deletes).
func (h hdr) with(kv ...string) hdr {
	out := hdr{}
	for k, v := range h {
		out[k] = v
	}
	for i := 0; i < len(kv); i += 2 {
		if kv[i+1] == "" {
			delete(out, kv[i])
		} else {
			out[kv[i]] = kv[i+1]
		}
	}
	return out
}

// expect checks the auth headers of res; "" means "must be absent".
func expect(t *testing.T, res *http.Response, status, server, port, pass, wait, code string) {
	t.Helper()
	want := map[string]string{
		"Auth-Status": status, "Auth-Server": server, "Auth-Port": port,
		"Auth-Pass": pass, "Auth-Wait": wait, "Auth-Error-Code": code,
	}
	for k, v := range want {
		got, ok := res.Header[k]
		switch {
		case v == "" && ok:
			t.Errorf("%s: %q, want absent", k, got)
		case v != "" && (len(got) != 1 || got[0] != v):
			t.Errorf("%s: %q, want %q", k, got, v)
		}
	}
}

func TestPlain(t *testing.T) {
	s, _ := newService(t, Options{})
	expect(t, ask(t, s, login("alice", "secret")), "OK", "10.0.0.5", "143", "", "", "")
	res := ask(t, s, login("alice", "secret").with("Auth-Protocol", "pop3"))
	expect(t, res, "OK", "10.0.0.5", "110", "", "", "")
	res = ask(t, s, login("alice", "secret").with("Auth-Protocol", "smtp"))
	expect(t, res, "OK", "10.0.0.6", "25", "", "", "")
	// IPv6 backends are sent without brackets.
	expect(t, ask(t, s, login("bob", "hunter2")), "OK", "2001:db8::7", "143", "", "", "")
	if res.StatusCode != http.StatusOK {
		t.Errorf("HTTP status %d, want 200", res.StatusCode)
	}
}

// Auth-Protocol: sieve (ManageSieve) is routed to the user's sieve line,
// never to the line without protocols.
func TestSieve(t *testing.T) {
	s, _ := newService(t, Options{})
	s.SetUsers(mustParse(t, "alice secret 10.0.0.5:143 imap\nalice secret 10.0.0.5:4190 sieve\nbob hunter2 10.0.0.7:143\n"))
	sieve := login("alice", "secret").with("Auth-Protocol", "sieve")
	expect(t, ask(t, s, sieve), "OK", "10.0.0.5", "4190", "", "", "")
	expect(t, ask(t, s, sieve.with("Auth-Protocol", "SIEVE")), "OK", "10.0.0.5", "4190", "", "", "")
	expect(t, ask(t, s, login("alice", "secret")), "OK", "10.0.0.5", "143", "", "", "")
	// A failure has Auth-Wait and, not being SMTP, no Auth-Error-Code.
	expect(t, ask(t, s, sieve.with("Auth-Pass", "wrong")), TextInvalid, "", "", "", "3", "")
	// bob's line without protocols gives him no sieve backend.
	expect(t, ask(t, s, login("bob", "hunter2").with("Auth-Protocol", "sieve")), TextInvalid, "", "", "", "3", "")
	expect(t, ask(t, s, login("bob", "hunter2")), "OK", "10.0.0.7", "143", "", "", "")
}

func TestPlainFailures(t *testing.T) {
	s, _ := newService(t, Options{})
	for _, h := range []hdr{
		login("alice", "wrong"),
		login("alice", ""),
		login("nobody", "secret"),
		login("", ""),
		login("Alice", "secret"), // names are case-sensitive
		login("*", "-"),          // the relay entry cannot log in
		login("john%20doe", "p%25ss+x").with("Auth-Protocol", "pop3", "Auth-User", "john"),
	} {
		expect(t, ask(t, s, h), TextInvalid, "", "", "", "3", "")
	}
	// john doe has no smtp backend.
	res := ask(t, s, login("john%20doe", "p%25ss+x").with("Auth-Protocol", "smtp"))
	expect(t, res, TextInvalid, "", "", "", "3", "535 5.7.8")
}

func TestPercentDecodingOfRequest(t *testing.T) {
	s, _ := newService(t, Options{})
	expect(t, ask(t, s, login("john%20doe", "p%25ss+x")), "OK", "127.0.0.1", "1143", "", "", "")
	// Lower-case hex is decoded too; "+" is never a space.
	expect(t, ask(t, s, login("john%20doe", "p%25ss%2bx")), "OK", "127.0.0.1", "1143", "", "", "")
	expect(t, ask(t, s, login("john+doe", "p%25ss+x")), TextInvalid, "", "", "", "3", "")
	expect(t, ask(t, s, login("pa#ss", "a%23b")), "OK", "127.0.0.1", "1", "", "", "")
}

func TestPercentDecode(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"plain", "plain"},
		{"john%20doe", "john doe"},
		{"p%25ss", "p%ss"},
		{"a%09b", "a\tb"},
		{"%2b+%2B", "+++"},
		{"%", "%"},
		{"%4", "%4"},
		{"%zz%41", "%zzA"},
		{"\xc3\xbc", "\xc3\xbc"},
		{"%C3%BC", "\xc3\xbc"},
		{"%0D%0A", "\r\n"},
	}
	for _, tt := range tests {
		if got := PercentDecode(tt.in); got != tt.want {
			t.Errorf("PercentDecode(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestAuthWait(t *testing.T) {
	bad := login("alice", "wrong")
	tests := []struct {
		opts    Options
		attempt string
		want    string
	}{
		{Options{}, "1", "3"},
		{Options{}, "4", "3"},
		{Options{}, "5", ""},
		{Options{}, "6", ""},
		{Options{}, "", ""},
		{Options{}, "x", ""},
		{Options{}, "0", ""},
		{Options{Wait: 7, MaxAttempts: 2}, "1", "7"},
		{Options{Wait: 7, MaxAttempts: 2}, "2", ""},
		{Options{Wait: -1}, "1", ""},
		{Options{MaxAttempts: 1}, "1", ""},
	}
	for _, tt := range tests {
		s, _ := newService(t, tt.opts)
		res := ask(t, s, bad.with("Auth-Login-Attempt", tt.attempt))
		if got := res.Header.Get("Auth-Wait"); got != tt.want {
			t.Errorf("wait %d max %d attempt %q: Auth-Wait %q, want %q",
				tt.opts.Wait, tt.opts.MaxAttempts, tt.attempt, got, tt.want)
		}
	}
}

func TestSMTPErrorCode(t *testing.T) {
	s, _ := newService(t, Options{})
	res := ask(t, s, login("alice", "wrong").with("Auth-Protocol", "smtp", "Client-Host", "[UNAVAILABLE]"))
	expect(t, res, TextInvalid, "", "", "", "3", "535 5.7.8")
}

func TestSecret(t *testing.T) {
	s, logBuf := newService(t, Options{Secret: "k"})
	expect(t, ask(t, s, login("alice", "secret").with("X-Auth-Key", "k")), "OK", "10.0.0.5", "143", "", "", "")
	for _, h := range []hdr{
		login("alice", "secret"),
		login("alice", "secret").with("X-Auth-Key", "K"),
		login("alice", "secret").with("X-Auth-Key", "kk"),
	} {
		res := ask(t, s, h)
		expect(t, res, TextInternal, "", "", "", "", "")
		if res.StatusCode != http.StatusForbidden {
			t.Errorf("HTTP status %d, want 403", res.StatusCode)
		}
	}
	res := ask(t, s, login("alice", "secret").with("Auth-Protocol", "smtp"))
	expect(t, res, TextInternal, "", "", "", "", "451 4.3.0")
	for _, want := range []string{"missing shared secret X-Auth-Key", "wrong shared secret X-Auth-Key"} {
		if !strings.Contains(logBuf.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, logBuf)
		}
	}

	// Custom header name, matched case-insensitively like any header.
	s, _ = newService(t, Options{Secret: "k", SecretHeader: "x-shared"})
	expect(t, ask(t, s, login("alice", "secret").with("X-Shared", "k")), "OK", "10.0.0.5", "143", "", "", "")
	expect(t, ask(t, s, login("alice", "secret").with("X-Auth-Key", "k")), TextInternal, "", "", "", "", "")

	// Without a configured secret any header value is ignored.
	s, _ = newService(t, Options{})
	expect(t, ask(t, s, login("alice", "secret").with("X-Auth-Key", "junk")), "OK", "10.0.0.5", "143", "", "", "")
}

// RFC 2195's example: user tim, password tanstaaftanstaaf.
const (
	cramSalt   = "<1896.697170952@postoffice.reston.mci.net>"
	cramDigest = "b913a602c7eda7a495b4e6e7334d3890"
	// RFC 1939's APOP example: password tanstaaf.
	apopSalt   = "<1896.697170952@dbc.mtview.ca.us>"
	apopDigest = "c4c9334bac560ecc979e58001b3e22fb"
)

func TestDigestVectors(t *testing.T) {
	if got := CRAMMD5Digest("tanstaaftanstaaf", cramSalt); got != cramDigest {
		t.Errorf("CRAMMD5Digest = %s, want %s", got, cramDigest)
	}
	if got := APOPDigest("tanstaaf", apopSalt); got != apopDigest {
		t.Errorf("APOPDigest = %s, want %s", got, apopDigest)
	}
}

func TestCRAMMD5(t *testing.T) {
	s, logBuf := newService(t, Options{})
	s.SetUsers(mustParse(t, "tim tanstaaftanstaaf 10.0.0.1:25\n"))
	req := hdr{
		"Auth-Method": "cram-md5", "Auth-User": "tim", "Auth-Pass": cramDigest, "Auth-Salt": cramSalt,
		"Auth-Protocol": "smtp", "Auth-Login-Attempt": "1", "Client-IP": "192.0.2.10",
	}
	expect(t, ask(t, s, req), "OK", "10.0.0.1", "25", "tanstaaftanstaaf", "", "")
	expect(t, ask(t, s, req.with("Auth-Pass", strings.ToUpper(cramDigest))), "OK", "10.0.0.1", "25", "tanstaaftanstaaf", "", "")
	expect(t, ask(t, s, req.with("Auth-Pass", apopDigest)), TextInvalid, "", "", "", "3", "535 5.7.8")
	expect(t, ask(t, s, req.with("Auth-Salt", "<other@x>")), TextInvalid, "", "", "", "3", "535 5.7.8")
	expect(t, ask(t, s, req.with("Auth-Salt", "")), TextInternal, "", "", "", "", "451 4.3.0")
	if strings.Contains(logBuf.String(), "tanstaaf") || strings.Contains(logBuf.String(), cramDigest) {
		t.Errorf("log shows the password or digest:\n%s", logBuf)
	}
}

func TestAPOP(t *testing.T) {
	s, _ := newService(t, Options{})
	s.SetUsers(mustParse(t, "mrose tanstaaf 10.0.0.1:110 pop3\n"))
	req := hdr{
		"Auth-Method": "apop", "Auth-User": "mrose", "Auth-Pass": apopDigest, "Auth-Salt": apopSalt,
		"Auth-Protocol": "pop3", "Auth-Login-Attempt": "2", "Client-IP": "198.51.100.7",
	}
	expect(t, ask(t, s, req), "OK", "10.0.0.1", "110", "tanstaaf", "", "")
	expect(t, ask(t, s, req.with("Auth-Pass", cramDigest)), TextInvalid, "", "", "", "3", "")
	expect(t, ask(t, s, req.with("Auth-Protocol", "imap")), TextInvalid, "", "", "", "3", "")
}

func TestExternal(t *testing.T) {
	req := hdr{
		"Auth-Method": "external", "Auth-User": "alice", "Auth-Pass": "",
		"Auth-Protocol": "imap", "Auth-Login-Attempt": "1", "Client-IP": "192.0.2.10",
		"Auth-SSL": "on", "Auth-SSL-Verify": "SUCCESS",
	}
	s, _ := newService(t, Options{})
	expect(t, ask(t, s, req), "OK", "10.0.0.5", "143", "secret", "", "")
	expect(t, ask(t, s, req.with("Auth-User", "nobody")), TextInvalid, "", "", "", "3", "")
	expect(t, ask(t, s, req.with("Auth-SSL-Verify", "")), TextInvalid, "", "", "", "3", "")
	expect(t, ask(t, s, req.with("Auth-SSL-Verify", "NONE")), TextInvalid, "", "", "", "3", "")
	expect(t, ask(t, s, req.with("Auth-SSL-Verify", "FAILED:certificate has expired")), TextInvalid, "", "", "", "3", "")

	s, _ = newService(t, Options{ExternalWithoutCert: true})
	expect(t, ask(t, s, req.with("Auth-SSL-Verify", "")), "OK", "10.0.0.5", "143", "secret", "", "")
}

func TestRelay(t *testing.T) {
	req := hdr{
		"Auth-Method": "none", "Auth-User": "", "Auth-Pass": "",
		"Auth-Protocol": "smtp", "Auth-Login-Attempt": "1", "Client-IP": "192.0.2.10",
		"Client-Host": "[UNAVAILABLE]", "Auth-SMTP-Helo": "client.example.org",
		"Auth-SMTP-From": "MAIL FROM:<> SIZE=1024", "Auth-SMTP-To": "RCPT TO:<alice@example.com>",
	}
	s, _ := newService(t, Options{})
	expect(t, ask(t, s, req), TextRelayDenied, "", "", "", "3", "550 5.7.1")

	s, _ = newService(t, Options{AllowRelay: true})
	expect(t, ask(t, s, req), "OK", "10.0.0.6", "25", "", "", "")
	expect(t, ask(t, s, req.with("Auth-SMTP-To", "RCPT TO:<postmaster@example.com> NOTIFY=NEVER")), "OK", "10.0.0.9", "25", "", "", "")
	expect(t, ask(t, s, req.with("Auth-SMTP-To", "RCPT TO:alice@example.com")), "OK", "10.0.0.6", "25", "", "", "")
	expect(t, ask(t, s, req.with("Auth-Protocol", "imap")), TextInternal, "", "", "", "", "")

	s.SetUsers(mustParse(t, "alice secret 10.0.0.6:25 smtp\n"))
	expect(t, ask(t, s, req.with("Auth-SMTP-To", "RCPT TO:<bob@example.com>")), TextRelayDenied, "", "", "", "3", "550 5.7.1")
}

func TestMalformedRequests(t *testing.T) {
	s, _ := newService(t, Options{})
	for _, h := range []hdr{
		login("alice", "secret").with("Auth-Method", "digest-md5"),
		login("alice", "secret").with("Auth-Method", ""),
		login("alice", "secret").with("Auth-Protocol", "http"),
		login("alice", "secret").with("Auth-Protocol", ""),
	} {
		res := ask(t, s, h)
		expect(t, res, TextInternal, "", "", "", "", "")
		if res.StatusCode != http.StatusBadRequest {
			t.Errorf("HTTP status %d, want 400", res.StatusCode)
		}
	}
	// Tokens are case-insensitive.
	expect(t, ask(t, s, login("alice", "secret").with("Auth-Method", "PLAIN", "Auth-Protocol", "IMAP")), "OK", "10.0.0.5", "143", "", "", "")
}

func TestSanitize(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain text", "plain text"},
		{"tab\tkept", "tab\tkept"},
		{"a\r\nAuth-Status: OK", "a??Auth-Status: OK"},
		{"nul\x00del\x7f", "nul?del?"},
		{"\xc3\xbc", "\xc3\xbc"},
	}
	for _, tt := range tests {
		if got := sanitize(tt.in); got != tt.want {
			t.Errorf("sanitize(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// A password with CR/LF cannot come from a users file, but SetUsers takes
// any Users: the answer must still be one header.
func TestNoHeaderInjection(t *testing.T) {
	s, _ := newService(t, Options{})
	u := mustParse(t, "x y 10.0.0.1:143\n")
	u.get("x").password.plain = "y\r\nAuth-Server: 6.6.6.6"
	s.SetUsers(u)
	res := ask(t, s, login("x", "").with("Auth-Method", "external", "Auth-SSL-Verify", "SUCCESS"))
	expect(t, res, "OK", "10.0.0.1", "143", "y??Auth-Server: 6.6.6.6", "", "")
}

func TestLogLine(t *testing.T) {
	s, logBuf := newService(t, Options{})
	ask(t, s, login("alice", "secret"))
	ask(t, s, login("alice", "topsecret42"))
	lines := strings.Split(strings.TrimSpace(logBuf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d log lines, want 2:\n%s", len(lines), logBuf)
	}
	for i, want := range []string{
		"result=ok method=plain user=alice protocol=imap attempt=1 client_ip=192.0.2.10",
		"result=invalid method=plain user=alice protocol=imap attempt=1 client_ip=192.0.2.10",
	} {
		if !strings.Contains(lines[i], want) {
			t.Errorf("log line %d %q lacks %q", i, lines[i], want)
		}
	}
	if !strings.Contains(lines[0], "backend=10.0.0.5:143") || !strings.Contains(lines[1], `reason="wrong password"`) {
		t.Errorf("log lines lack backend or reason:\n%s", logBuf)
	}
	if strings.Contains(logBuf.String(), "secret") || strings.Contains(logBuf.String(), "topsecret42") {
		t.Errorf("log shows a password:\n%s", logBuf)
	}
}

func TestNew(t *testing.T) {
	u := mustParse(t, goodUsers)
	for _, opts := range []Options{
		{},
		{UsersFile: "x", Users: u},
		{Users: u, SecretHeader: "X_Key"},
		{Users: u, SecretHeader: "-Key"},
		{Users: u, SecretHeader: "X Key"},
		{UsersFile: filepath.Join(t.TempDir(), "missing")},
	} {
		if _, err := New(opts); err == nil {
			t.Errorf("New(%+v): no error", opts)
		}
	}
	s, err := New(Options{Users: u})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.ReloadUsers(); err == nil {
		t.Error("ReloadUsers without a file: no error")
	}
}

func TestReloadUsers(t *testing.T) {
	path := filepath.Join(t.TempDir(), "users")
	write := func(text string) {
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("alice secret 10.0.0.1:143\n")
	s, err := New(Options{UsersFile: path, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	expect(t, ask(t, s, login("alice", "secret")), "OK", "10.0.0.1", "143", "", "", "")

	write("alice new 10.0.0.2:143\n")
	if err := s.ReloadUsers(); err != nil {
		t.Fatal(err)
	}
	expect(t, ask(t, s, login("alice", "new")), "OK", "10.0.0.2", "143", "", "", "")

	write("alice new host:143\n")
	if err := s.ReloadUsers(); err == nil || !strings.Contains(err.Error(), path+":1:") {
		t.Errorf("ReloadUsers = %v, want an error naming %s:1", err, path)
	}
	expect(t, ask(t, s, login("alice", "new")), "OK", "10.0.0.2", "143", "", "", "")
}

// TestHTTP10 sends nginx's exact request bytes (SPEC §9.5) over TCP and
// checks that the answer fits nginx's reader: a header block under 1024
// bytes, then the server closes the connection.
func TestHTTP10(t *testing.T) {
	s, _ := newService(t, Options{Secret: "k"})
	srv := httptest.NewServer(s)
	defer srv.Close()

	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	req := "GET /auth HTTP/1.0\r\n" +
		"Host: 127.0.0.1\r\n" +
		"Auth-Method: plain\r\n" +
		"Auth-User: alice\r\n" +
		"Auth-Pass: secret\r\n" +
		"Auth-Protocol: imap\r\n" +
		"Auth-Login-Attempt: 1\r\n" +
		"Client-IP: 192.0.2.10\r\n" +
		"Auth-SSL: on\r\n" +
		"Auth-SSL-Protocol: TLSv1.3\r\n" +
		"Auth-SSL-Cipher: TLS_AES_256_GCM_SHA384\r\n" +
		"X-Auth-Key: k\r\n" +
		"\r\n"
	if _, err := io.WriteString(conn, req); err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(conn) // HTTP/1.0: the server closes
	if err != nil {
		t.Fatal(err)
	}
	head, body, ok := bytes.Cut(raw, []byte("\r\n\r\n"))
	if !ok || len(body) != 0 {
		t.Fatalf("response %q: want a header block and no body", raw)
	}
	if len(head)+4 > 1024 {
		t.Errorf("header block is %d bytes, nginx reads at most 1024", len(head)+4)
	}
	res, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(raw)), nil)
	if err != nil {
		t.Fatal(err)
	}
	expect(t, res, "OK", "10.0.0.5", "143", "", "", "")
	for _, line := range strings.Split(string(head), "\r\n") {
		if strings.ContainsAny(line, "\r\n") {
			t.Errorf("bare CR or LF in %q", line)
		}
	}
}
