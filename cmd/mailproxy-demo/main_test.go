package main

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"mailproxy/authservice"
	"mailproxy/config"
	"mailproxy/internal/mailtest"
)

// The test binary doubles as a fake mailproxy (fakeproxy_test.go): run()
// starts it as the child when this variable is set.
func TestMain(m *testing.M) {
	if mode := os.Getenv(fakeEnv); mode != "" {
		os.Exit(fakeProxy(mode, os.Args[1:]))
	}
	code := m.Run()
	mailtest.RemoveBuilds()
	os.Exit(code)
}

// freeAddr returns a loopback address that was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	// Below the kernel's ephemeral range (32768 and up by default), so
	// that the outgoing connections of tests running meanwhile cannot
	// take the port before the demo binds it.
	for range 100 {
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", 20000+rand.IntN(12000)))
		if err == nil {
			defer ln.Close()
			return ln.Addr().String()
		}
	}
	t.Fatal("no free port between 20000 and 32000")
	return ""
}

// waitFor waits until buf contains want, failing early if run returns.
func waitFor(t *testing.T, buf *mailtest.SyncBuffer, want string, done <-chan error, logs *mailtest.SyncBuffer) {
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

// freeListen returns eight loopback addresses that were free a moment ago.
func freeListen(t *testing.T) listenAddrs {
	t.Helper()
	return listenAddrs{
		imap: freeAddr(t), imaps: freeAddr(t),
		pop3: freeAddr(t), pop3s: freeAddr(t),
		smtp: freeAddr(t), smtps: freeAddr(t),
		sieve: freeAddr(t), metrics: freeAddr(t),
	}
}

func TestDemo(t *testing.T) {
	t.Setenv(fakeEnv, "serve")
	l := freeListen(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr mailtest.SyncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, options{listen: l, mailproxy: self(t)}, &stdout, &stderr)
	}()

	waitFor(t, &stdout, "curl http://"+l.metrics+"/metrics", done, &stderr)
	out := stdout.String()
	for _, want := range []string{
		"curl --user demo:demo imap://" + l.imap + "/\n",
		"curl --user demo:demo 'imap://" + l.imap + "/INBOX?ALL'",
		"curl --user demo:demo 'imap://" + l.imap + "/INBOX;UID=1'",
		"curl --ssl-reqd -k --user demo:demo 'imap://" + l.imap + "/INBOX;UID=1'",
		"curl -k --user alice:secret 'imaps://" + l.imaps + "/INBOX;UID=2'",
		"openssl s_client -quiet -crlf -starttls imap -connect " + l.imap + "\n",
		"openssl s_client -quiet -crlf -connect " + l.imaps + "\n",
		"curl --user demo:demo pop3://" + l.pop3 + "/\n",
		"curl --user demo:demo pop3://" + l.pop3 + "/1\n",
		"curl --ssl-reqd -k --user demo:demo pop3://" + l.pop3 + "/1\n",
		"curl -k --user alice:secret pop3s://" + l.pop3s + "/2\n",
		"openssl s_client -quiet -crlf -starttls pop3 -connect " + l.pop3 + "\n",
		"openssl s_client -quiet -crlf -connect " + l.pop3s + "\n",
		"curl --ssl-reqd -k --user demo:demo --mail-from demo@example.com --mail-rcpt alice@example.com --upload-file - --crlf smtp://" + l.smtp + " <<'EOF'\n" +
			"From: <demo@example.com>\nTo: <alice@example.com>\nSubject: Hello through mailproxy\n\n",
		"curl -k --user alice:secret --mail-from alice@example.com --mail-rcpt demo@example.com --upload-file - --crlf smtps://" + l.smtps + " <<'EOF'\n",
		"\nEOF\n",
		"AUTH PLAIN AGRlbW8AZGVtbw==",
		"openssl s_client -quiet -crlf -starttls smtp -connect " + l.smtp + "\n",
		"openssl s_client -quiet -crlf -connect " + l.smtps + "\n",
		"demo / demo, alice / secret",
		"sieve-connect --server " + strings.Replace(l.sieve, ":", " --port ", 1) + " --user demo --notlsverify --upload --localsieve demo.sieve --remotesieve demo\n",
		"sieve-connect --server " + strings.Replace(l.sieve, ":", " --port ", 1) + " --user demo --notlsverify --list\n",
		"ManageSieve             " + l.sieve + "  (STARTTLS offered)",
		"metrics                 http://" + l.metrics + "/metrics",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("instructions lack %q:\n%s", want, out)
		}
	}
	// The fake proxy checked the wiring: secret, users file, backends, TLS.
	for _, want := range []string{
		"fake: imap auth Auth-Status=OK",
		"fake: imap backend INBOX has 3 messages",
		"fake: pop3 auth Auth-Status=OK",
		"fake: pop3 backend maildrop has 3 messages",
		"fake: smtp auth Auth-Status=OK",
		"fake: smtp backend accepted a message",
		"fake: sieve auth Auth-Status=OK",
		"fake: sieve backend logged in",
		"fake: readyz asked",
		`msg="smtp backend received a message" component=smtp_backend from=demo@example.com to=alice@example.com subject="fake proxy check"`,
		"fake: wrong secret Auth-Status=Internal server error",
	} {
		waitFor(t, &stderr, want, done, &stderr)
	}
	// Each protocol has its own backend.
	backends := regexp.MustCompile(`fake: (\w+) auth Auth-Status=OK backend=(\S+)`).FindAllStringSubmatch(stderr.String(), -1)
	seen := map[string]bool{}
	for _, m := range backends {
		seen[m[2]] = true
		if !regexp.MustCompile(`(?i)` + m[1] + ` backend +` + regexp.QuoteMeta(m[2]) + ` `).MatchString(out) {
			t.Errorf("the instructions do not give %s as the %s backend", m[2], m[1])
		}
	}
	if len(backends) != 4 || len(seen) != 4 {
		t.Errorf("backends %q, want four different ones", backends)
	}
	// The demo waited for /readyz: it never connected to a mail port.
	if strings.Contains(stderr.String(), "fake: a client connected") {
		t.Errorf("the demo connected to a mail port:\n%s", stderr.String())
	}

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
	addrs := []string{}
	for _, x := range l.list() {
		addrs = append(addrs, x.addr)
	}
	for _, m := range backends {
		addrs = append(addrs, m[2])
	}
	for _, addr := range addrs {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			t.Errorf("%s still accepts after the demo stopped", addr)
		}
	}
}

func TestDemoProxyExits(t *testing.T) {
	t.Setenv(fakeEnv, "exit")
	err := run(context.Background(), options{listen: freeListen(t), mailproxy: self(t)}, new(mailtest.SyncBuffer), new(mailtest.SyncBuffer))
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
	with := func(f func(*listenAddrs)) listenAddrs {
		l := freeListen(t)
		f(&l)
		return l
	}
	b := busy.Addr().String()
	tests := []struct {
		o    options
		want string
	}{
		{options{listen: freeListen(t), mailproxy: "/nonexistent/mailproxy"},
			"no mailproxy binary at /nonexistent/mailproxy (build it with `make build`, or pass -mailproxy PATH)"},
		{options{listen: with(func(l *listenAddrs) { l.imap = b }), mailproxy: self(t)}, "cannot use " + b + " for -imap"},
		{options{listen: with(func(l *listenAddrs) { l.imaps = "256.1.1.1:1" }), mailproxy: self(t)}, "cannot use 256.1.1.1:1 for -imaps"},
		{options{listen: with(func(l *listenAddrs) { l.pop3 = b }), mailproxy: self(t)}, "cannot use " + b + " for -pop3"},
		{options{listen: with(func(l *listenAddrs) { l.pop3s = b }), mailproxy: self(t)}, "cannot use " + b + " for -pop3s"},
		{options{listen: with(func(l *listenAddrs) { l.smtp = b }), mailproxy: self(t)}, "cannot use " + b + " for -smtp"},
		{options{listen: with(func(l *listenAddrs) { l.smtps = b }), mailproxy: self(t)}, "cannot use " + b + " for -smtps"},
		{options{listen: with(func(l *listenAddrs) { l.sieve = b }), mailproxy: self(t)}, "cannot use " + b + " for -sieve"},
		{options{listen: with(func(l *listenAddrs) { l.metrics = b }), mailproxy: self(t)},
			"cannot use " + b + " for -metrics: listen tcp " + b + ": bind: address already in use (choose other ports: -metrics ADDR, or -port-offset N to move every port; with make: make run DEMOFLAGS=-port-offset=1000)"},
	}
	for _, tt := range tests {
		err := run(context.Background(), tt.o, new(mailtest.SyncBuffer), new(mailtest.SyncBuffer))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("run(%+v) = %v, want %q", tt.o, err, tt.want)
		}
	}
}

func TestConfigYAML(t *testing.T) {
	certFile, keyFile, err := mailtest.WriteSelfSignedCert(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	c := &proxyConfig{
		authURL: "http://127.0.0.1:9000/auth", secretHeader: "X-Auth-Key", secret: `s"e:c#ret`,
		certFile: certFile, keyFile: keyFile,
		listen: listenAddrs{
			imap: "127.0.0.1:1143", imaps: "[::1]:1993",
			pop3: "127.0.0.1:1110", pop3s: "[::1]:1995",
			smtp: "127.0.0.1:1587", smtps: "[::1]:1465",
			sieve: "127.0.0.1:14190", metrics: "127.0.0.1:19100",
		},
	}
	got, err := parseConfig([]byte(c.render()))
	if err != nil {
		t.Fatalf("%v\n%s", err, c.render())
	}
	if got.Mail.AuthHTTP != c.authURL || got.Mail.AuthHTTPHeader["X-Auth-Key"] != c.secret || len(got.Mail.AuthHTTPHeader) != 1 ||
		got.Mail.SSLCertificate != c.certFile || got.Mail.SSLCertificateKey != c.keyFile {
		t.Errorf("mail section = %+v", got.Mail)
	}
	if got.MetricsListen != "127.0.0.1:19100" {
		t.Errorf("metrics_listen %q", got.MetricsListen)
	}
	if len(got.Servers) != 4 {
		t.Fatalf("%d servers, want 4", len(got.Servers))
	}
	if s := got.Servers[3]; s.Protocol != "sieve" || s.StartTLS != "on" || strings.Join(s.SieveAuth, ",") != "plain,login" || len(s.Listen) != 1 || s.Listen[0] != "127.0.0.1:14190" {
		t.Errorf("sieve server = %+v", s)
	}
	want := []struct {
		protocol, auth string
		xclient        *bool
		plain, tls     string
	}{
		{"imap", "plain,login,cram-md5,xoauth2,oauthbearer,sasl-ir", nil, "127.0.0.1:1143", "[::1]:1993"},
		{"pop3", "plain,apop,cram-md5,xoauth2,oauthbearer", nil, "127.0.0.1:1110", "[::1]:1995"},
		{"smtp", "plain,login,xoauth2,oauthbearer", new(bool), "127.0.0.1:1587", "[::1]:1465"},
	}
	for i, w := range want {
		s := got.Servers[i]
		auth := strings.Join(slices.Concat(s.IMAPAuth, s.POP3Auth, s.SMTPAuth), ",")
		if s.Protocol != w.protocol || s.StartTLS != "on" || auth != w.auth ||
			(s.XClient == nil) != (w.xclient == nil) || (s.XClient != nil && *s.XClient != *w.xclient) {
			t.Errorf("server %d = %+v, want %+v", i, s, w)
		}
		ls, err := s.listens()
		if err != nil {
			t.Fatal(err)
		}
		if len(ls) != 2 || ls[0] != (fakeListen{w.plain, false}) || ls[1] != (fakeListen{w.tls, true}) {
			t.Errorf("%s listen = %+v", w.protocol, ls)
		}
	}

	// mailproxy's own parser accepts it and reads the same values.
	cfg, err := config.Parse(filepath.Join(t.TempDir(), "mailproxy.yaml"), []byte(c.render()))
	if err != nil {
		t.Fatalf("config.Parse: %v\n%s", err, c.render())
	}
	if cfg.MetricsListen != "127.0.0.1:19100" {
		t.Errorf("metrics_listen %q", cfg.MetricsListen)
	}
	var protos []string
	for _, s := range cfg.Servers {
		protos = append(protos, s.Protocol)
		if s.Protocol == "sieve" {
			continue
		}
		if s.StartTLS != config.StartTLSOn || len(s.Listen) != 2 || !s.Listen[1].SSL || s.Listen[0].SSL {
			t.Errorf("%s: starttls %v, listen %+v", s.Protocol, s.StartTLS, s.Listen)
		}
		if len(s.AuthHTTPHeader) != 1 || s.AuthHTTPHeader[0].Value != c.secret {
			t.Errorf("%s: auth_http_header %+v", s.Protocol, s.AuthHTTPHeader)
		}
	}
	if strings.Join(protos, ",") != "imap,pop3,smtp,sieve" {
		t.Errorf("protocols %v", protos)
	}
	if s := cfg.Servers[1]; strings.Join(s.POP3Auth, ",") != "plain,apop,cram-md5,xoauth2,oauthbearer" {
		t.Errorf("pop3_auth %v", s.POP3Auth)
	}
	if s := cfg.Servers[2]; s.XClient || strings.Join(s.SMTPAuth, ",") != "plain,login,xoauth2,oauthbearer" {
		t.Errorf("smtp: xclient %v, smtp_auth %v", s.XClient, s.SMTPAuth)
	}
}

func TestUsersFile(t *testing.T) {
	dir := t.TempDir()
	backends := map[string]string{"imap": "127.0.0.1:1", "pop3": "127.0.0.1:2", "smtp": "[::1]:3", "sieve": "127.0.0.1:4"}
	path, err := writeUsers(dir, backends)
	if err != nil {
		t.Fatal(err)
	}
	users, err := authservice.LoadUsers(path)
	if err != nil {
		t.Fatal(err)
	}
	if users.Len() != len(demoUsers) {
		t.Errorf("%d users, want %d", users.Len(), len(demoUsers))
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range demoUsers {
		for p, addr := range backends {
			if line := u.name + "\t" + u.password + "\t" + addr + "\t" + p + "\n"; !strings.Contains(string(data), line) {
				t.Errorf("users file lacks %q:\n%s", line, data)
			}
		}
		if line := "token:" + u.token + "\t" + u.name + "\n"; !strings.Contains(string(data), line) {
			t.Errorf("users file lacks %q:\n%s", line, data)
		}
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
	for _, l := range []listenAddrs{
		{imap: "[::1]:1143", imaps: "127.0.0.1:1993", pop3: "127.0.0.1:1110", pop3s: "127.0.0.1:1995", smtp: "127.0.0.1:1587", smtps: "127.0.0.1:1465", sieve: "127.0.0.1:14190", metrics: "127.0.0.1:19100"},
		{imap: "127.0.0.1:1143", imaps: "127.0.0.1:1993", pop3: "127.0.0.1:1110", pop3s: "127.0.0.1:1995", smtp: "127.0.0.1:1587", smtps: "[::]:1465", sieve: "[::1]:14190", metrics: "127.0.0.1:19100"},
	} {
		var b bytes.Buffer
		printInstructions(&b, demoInfo{listen: l})
		for _, want := range []string{
			"curl -g --user demo:demo 'imap://" + connectAddr(l.imap) + "/INBOX;UID=1'",
			"curl -g --user demo:demo pop3://" + l.pop3 + "/1\n",
			"curl -g -k --user alice:secret --mail-from alice@example.com --mail-rcpt demo@example.com --upload-file - --crlf smtps://" + connectAddr(l.smtps) + " <<'EOF'",
		} {
			if !strings.Contains(b.String(), want) {
				t.Errorf("IPv6 instructions lack %q:\n%s", want, b.String())
			}
		}
	}
}

func TestPortOffset(t *testing.T) {
	l := listenAddrs{imap: "127.0.0.1:1143", imaps: "127.0.0.1:1993", pop3: "127.0.0.1:1110", pop3s: "127.0.0.1:1995",
		smtp: "127.0.0.1:1587", smtps: "[::1]:1465", sieve: "127.0.0.1:14190", metrics: "127.0.0.1:19100"}
	if err := l.offset(1000); err != nil {
		t.Fatal(err)
	}
	want := listenAddrs{imap: "127.0.0.1:2143", imaps: "127.0.0.1:2993", pop3: "127.0.0.1:2110", pop3s: "127.0.0.1:2995",
		smtp: "127.0.0.1:2587", smtps: "[::1]:2465", sieve: "127.0.0.1:15190", metrics: "127.0.0.1:20100"}
	if l != want {
		t.Errorf("got %+v\nwant %+v", l, want)
	}
	if err := l.offset(60000); err == nil || !strings.Contains(err.Error(), "would have no valid port") {
		t.Errorf("offset past 65535: %v", err)
	}
}
