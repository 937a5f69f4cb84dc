package mailtest

import (
	"bytes"
	"crypto/sha256"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/emersion/go-sasl"
	gosmtp "github.com/emersion/go-smtp"
)

// startSMTP runs a go-smtp backend for the test.
func startSMTP(t *testing.T) *SMTPBackend {
	t.Helper()
	b, err := StartSMTPBackend("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// send delivers msg through a go-smtp client, authenticating when auth is
// not nil, and returns the client's local address.
func send(t *testing.T, addr string, auth sasl.Client, from string, to []string, msg []byte) string {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c := gosmtp.NewClient(conn)
	defer c.Close()
	if err := c.Hello("client.example"); err != nil {
		t.Fatal(err)
	}
	if auth != nil {
		if err := c.Auth(auth); err != nil {
			t.Fatalf("auth: %v", err)
		}
	}
	if err := c.SendMail(from, to, bytes.NewReader(msg)); err != nil {
		t.Fatalf("send: %v", err)
	}
	return conn.LocalAddr().String()
}

func TestSMTPBackendRecords(t *testing.T) {
	b := startSMTP(t)
	var mu sync.Mutex
	var notified []SMTPMessage
	b.OnMessage(func(m SMTPMessage) {
		mu.Lock()
		defer mu.Unlock()
		notified = append(notified, m)
	})
	count := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(notified)
	}

	msg := []byte("Subject: hi\r\n\r\n.a line with a leading dot\r\nbye\r\n")
	local := send(t, b.Addr(), nil, "demo@example.com", []string{"alice@example.com", "bob@example.com"}, msg)
	big := SizedMessage("alice", 5<<20)
	send(t, b.Addr(), sasl.NewPlainClient("", "demo", "demo"), "", []string{"alice@example.com"}, big)

	got := b.Messages()
	if len(got) != 2 {
		t.Fatalf("%d messages recorded, want 2", len(got))
	}
	m := got[0]
	if m.From != "demo@example.com" || !slices.Equal(m.To, []string{"alice@example.com", "bob@example.com"}) ||
		!bytes.Equal(m.Data, msg) || m.Helo != "client.example" || m.RemoteAddr != local || m.AuthUser != "" || m.XCLIENT != "" {
		t.Errorf("message 1 = %+v (client at %s)", m, local)
	}
	m = got[1]
	if m.From != "" || m.AuthUser != "demo" || len(m.Data) != len(big) || sha256.Sum256(m.Data) != sha256.Sum256(big) {
		t.Errorf("message 2: from %q, user %q, %d bytes", m.From, m.AuthUser, len(m.Data))
	}
	if count() != 2 || !bytes.Equal(notified[0].Data, msg) {
		t.Errorf("OnMessage saw %d messages", len(notified))
	}

	// Messages returns copies.
	got[0].Data[0] = 'X'
	got[0].To[0] = "changed"
	if again := b.Messages(); again[0].Data[0] != 'S' || again[0].To[0] != "alice@example.com" {
		t.Error("Messages shares memory with the backend")
	}
	b.OnMessage(nil)
	send(t, b.Addr(), nil, "x@example.com", []string{"y@example.com"}, msg)
	if count() != 2 {
		t.Error("OnMessage(nil) did not remove the callback")
	}
}

func TestSMTPBackendGreetingAndEHLO(t *testing.T) {
	b := startSMTP(t)
	rc := dialRaw(t, b.Addr())
	if g := rc.smtpReply(); !strings.HasPrefix(g[0], "220 "+SMTPDomain) {
		t.Errorf("greeting %q", g)
	}
	rc.send("EHLO client.example\r\n")
	ehlo := strings.Join(rc.smtpReply(), "\n")
	if !strings.HasPrefix(ehlo, "250-") || !strings.Contains(ehlo, "\n250-AUTH PLAIN\n") {
		t.Errorf("EHLO answer %q", ehlo)
	}
	rc.send("XCLIENT ADDR=192.0.2.1\r\n")
	if r := rc.smtpReply(); !strings.HasPrefix(r[0], "5") {
		t.Errorf("go-smtp accepted XCLIENT: %q", r)
	}
}

func TestSMTPBackendClose(t *testing.T) {
	b, err := StartSMTPBackend("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	rc := dialRaw(t, b.Addr())
	rc.smtpReply()
	addr := b.Addr()
	if err := b.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	b.Close() // second call must not block or panic
	rc.expectEOF()
	if c, err := net.Dial("tcp", addr); err == nil {
		c.Close()
		t.Error("backend still accepts after Close")
	}
	if _, err := StartSMTPBackend("256.0.0.1:0"); err == nil {
		t.Error("StartSMTPBackend on a bad address: no error")
	}
}
