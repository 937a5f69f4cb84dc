package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/base64"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"mailproxy/internal/mailtest"
)

// TestDemoWithMailproxy runs the demo with the real mailproxy: start-up
// leaves no session in its log (the demo waits on /readyz), and an IMAP
// login and a ManageSieve session (STARTTLS, AUTHENTICATE, PUTSCRIPT,
// LISTSCRIPTS) through the proxy reach the demo's backends.
func TestDemoWithMailproxy(t *testing.T) {
	bin, err := mailtest.Build("mailproxy/cmd/mailproxy")
	if err != nil {
		t.Fatal(err)
	}
	l := freeListen(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr mailtest.SyncBuffer
	done := make(chan error, 1)
	go func() { done <- run(ctx, options{listen: l, mailproxy: bin}, &stdout, &stderr) }()
	waitFor(t, &stdout, "curl http://"+l.metrics+"/metrics", done, &stderr)
	if logs := stderr.String(); !strings.Contains(logs, "mailproxy started") || strings.Contains(logs, "session done") {
		t.Fatalf("after start-up:\n%s", logs)
	}

	c, err := net.Dial("tcp", l.imap)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(c)
	expectLine(t, r, "* OK ")
	io.WriteString(c, "a LOGIN demo demo\r\n")
	expectLine(t, r, "a OK ")
	io.WriteString(c, "b LOGOUT\r\n")
	expectLine(t, r, "* BYE")

	s, err := net.Dial("tcp", l.sieve)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.SetDeadline(time.Now().Add(10 * time.Second))
	r = bufio.NewReader(s)
	readUntil(t, r, "OK")
	io.WriteString(s, "STARTTLS\r\n")
	expectLine(t, r, "OK")
	tc := tls.Client(s, &tls.Config{InsecureSkipVerify: true})
	r = bufio.NewReader(tc)
	readUntil(t, r, "OK") // the capabilities again, over TLS
	plain := base64.StdEncoding.EncodeToString([]byte("\x00alice\x00secret"))
	script := "keep;\r\n"
	io.WriteString(tc, "AUTHENTICATE \"PLAIN\" \""+plain+"\"\r\n")
	expectLine(t, r, "OK")
	io.WriteString(tc, "PUTSCRIPT \"mine\" {7+}\r\n"+script+"\r\n")
	expectLine(t, r, "OK")
	io.WriteString(tc, "LISTSCRIPTS\r\n")
	expectLine(t, r, "\"mine\"")
	expectLine(t, r, "OK")
	io.WriteString(tc, "LOGOUT\r\n")
	expectLine(t, r, "OK")
	tc.Close()

	waitFor(t, &stderr, "protocol=sieve login=alice", done, &stderr)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	logs := stderr.String()
	if n := strings.Count(logs, `msg="session done"`); n != 2 || strings.Contains(logs, "closed before login") {
		t.Errorf("%d sessions logged, want the IMAP and the ManageSieve one:\n%s", n, logs)
	}
}

func expectLine(t *testing.T, r *bufio.Reader, prefix string) {
	t.Helper()
	line, err := r.ReadString('\n')
	if err != nil || !strings.HasPrefix(line, prefix) {
		t.Fatalf("got %q (%v), want %q…", line, err, prefix)
	}
}

func readUntil(t *testing.T, r *bufio.Reader, prefix string) {
	t.Helper()
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("before %q: %v", prefix, err)
		}
		if strings.HasPrefix(line, prefix) {
			return
		}
	}
}
