package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// The test binary doubles as a fake mailproxy (fakeproxy_test.go): run()
// starts it as the child when this variable is set.
func TestMain(m *testing.M) {
	if mode := os.Getenv(fakeEnv); mode != "" {
		os.Exit(fakeProxy(mode, os.Args[1:]))
	}
	os.Exit(m.Run())
}

// syncBuffer is a bytes.Buffer safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// freeAddr returns a loopback address that was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// waitFor waits until buf contains want, failing early if run returns.
func waitFor(t *testing.T, buf *syncBuffer, want string, done <-chan error, logs *syncBuffer) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(buf.String(), want) {
		select {
		case err := <-done:
			t.Fatalf("run returned %v before %q appeared\nlogs:\n%s", err, want, logs)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("%q did not appear; output:\n%s\nlogs:\n%s", want, buf, logs)
		}
	}
}

// self returns the path of the test binary, used as the fake mailproxy.
func self(t *testing.T) string {
	t.Helper()
	p, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDemo(t *testing.T) {
	t.Setenv(fakeEnv, "serve")
	imap, imaps := freeAddr(t), freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, options{imapAddr: imap, imapsAddr: imaps, mailproxy: self(t)}, &stdout, &stderr)
	}()

	waitFor(t, &stdout, "openssl s_client -quiet -crlf -connect", done, &stderr)
	out := stdout.String()
	for _, want := range []string{
		"curl --user demo:demo imap://" + imap + "/\n",
		"curl --user demo:demo 'imap://" + imap + "/INBOX?ALL'",
		"curl --user demo:demo 'imap://" + imap + "/INBOX;UID=1'",
		"curl --ssl-reqd -k --user demo:demo 'imap://" + imap + "/INBOX;UID=1'",
		"curl -k --user alice:secret 'imaps://" + imaps + "/INBOX;UID=2'",
		"openssl s_client -quiet -crlf -starttls imap -connect " + imap,
		"openssl s_client -quiet -crlf -connect " + imaps,
		"demo / demo, alice / secret",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("instructions lack %q:\n%s", want, out)
		}
	}
	// The fake proxy checked the wiring: secret, users file, backend, TLS.
	waitFor(t, &stderr, "fake: auth Auth-Status=OK", done, &stderr)
	waitFor(t, &stderr, "fake: backend INBOX has 3 messages", done, &stderr)
	waitFor(t, &stderr, "fake: wrong secret Auth-Status=Internal server error", done, &stderr)

	m := regexp.MustCompile(`generated files +(\S+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no temp dir in:\n%s", out)
	}
	dir := m[1]
	for _, f := range []string{"mailproxy.yaml", "users", "cert.pem", "key.pem"} {
		if _, err := os.Stat(dir + "/" + f); err != nil {
			t.Errorf("generated file: %v", err)
		}
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("run: %v", err)
		}
	case <-time.After(2 * stopTimeout):
		t.Fatal("run did not return after cancel")
	}
	if !strings.Contains(stderr.String(), "fake: got SIGTERM") {
		t.Errorf("the proxy was not stopped with SIGTERM; logs:\n%s", stderr.String())
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("temp dir %s still there: %v", dir, err)
	}
	for _, addr := range []string{imap, imaps} {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			t.Errorf("%s still accepts after the demo stopped", addr)
		}
	}
}

func TestDemoProxyExits(t *testing.T) {
	t.Setenv(fakeEnv, "exit")
	err := run(context.Background(), options{imapAddr: freeAddr(t), imapsAddr: freeAddr(t), mailproxy: self(t)}, new(syncBuffer), new(syncBuffer))
	if err == nil || !strings.Contains(err.Error(), "mailproxy exited during start-up: exit status 3") {
		t.Errorf("run = %v, want the child's early exit", err)
	}
}

func TestDemoErrors(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	tests := []struct {
		o    options
		want string
	}{
		{options{imapAddr: freeAddr(t), imapsAddr: freeAddr(t), mailproxy: "/nonexistent/mailproxy"},
			"no mailproxy binary at /nonexistent/mailproxy (build it with `make build`, or pass -mailproxy PATH)"},
		{options{imapAddr: busy.Addr().String(), imapsAddr: freeAddr(t), mailproxy: self(t)},
			"cannot use " + busy.Addr().String() + " for -imap"},
		{options{imapAddr: freeAddr(t), imapsAddr: "256.1.1.1:1", mailproxy: self(t)},
			"cannot use 256.1.1.1:1 for -imaps"},
	}
	for _, tt := range tests {
		err := run(context.Background(), tt.o, new(syncBuffer), new(syncBuffer))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("run(%+v) = %v, want %q", tt.o, err, tt.want)
		}
	}
}

func TestConfigYAML(t *testing.T) {
	c := &proxyConfig{
		authURL: "http://127.0.0.1:9000/auth", secretHeader: "X-Auth-Key", secret: `s"e:c#ret`,
		certFile: `/tmp/a b/cert.pem`, keyFile: "/tmp/k: ey.pem",
		imapAddr: "127.0.0.1:1143", imapsAddr: "[::1]:1993",
	}
	got, err := parseConfig([]byte(c.render()))
	if err != nil {
		t.Fatalf("%v\n%s", err, c.render())
	}
	want := fakeConfig{}
	want.Mail.AuthHTTP = c.authURL
	want.Mail.AuthHTTPHeader = map[string]string{"X-Auth-Key": c.secret}
	want.Mail.SSLCertificate = c.certFile
	want.Mail.SSLCertificateKey = c.keyFile
	if got.Mail.AuthHTTP != want.Mail.AuthHTTP || got.Mail.AuthHTTPHeader["X-Auth-Key"] != c.secret ||
		got.Mail.SSLCertificate != c.certFile || got.Mail.SSLCertificateKey != c.keyFile {
		t.Errorf("mail section = %+v, want %+v", got.Mail, want.Mail)
	}
	if len(got.Servers) != 1 {
		t.Fatalf("%d servers, want 1", len(got.Servers))
	}
	s := got.Servers[0]
	if s.Protocol != "imap" || s.StartTLS != "on" || strings.Join(s.IMAPAuth, ",") != "plain,login,cram-md5" {
		t.Errorf("server = %+v", s)
	}
	ls, err := s.listens()
	if err != nil {
		t.Fatal(err)
	}
	if len(ls) != 2 || ls[0] != (fakeListen{"127.0.0.1:1143", false}) || ls[1] != (fakeListen{"[::1]:1993", true}) {
		t.Errorf("listen = %+v", ls)
	}
}

func TestConnectAddr(t *testing.T) {
	for in, want := range map[string]string{
		"127.0.0.1:1143": "127.0.0.1:1143",
		":1143":          "127.0.0.1:1143",
		"0.0.0.0:1":      "127.0.0.1:1",
		"[::]:1":         "[::1]:1",
		"[::1]:1":        "[::1]:1",
		"nonsense":       "nonsense",
	} {
		if got := connectAddr(in); got != want {
			t.Errorf("connectAddr(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestInstructionsIPv6(t *testing.T) {
	var b bytes.Buffer
	printInstructions(&b, demoInfo{imapAddr: "[::1]:1143", imapsAddr: "[::1]:1993"})
	if !strings.Contains(b.String(), "curl -g --user demo:demo 'imap://[::1]:1143/INBOX;UID=1'") {
		t.Errorf("IPv6 instructions:\n%s", b.String())
	}
}
