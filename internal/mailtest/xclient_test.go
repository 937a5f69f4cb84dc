package mailtest

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"net"
	"slices"
	"strings"
	"testing"
)

// startXCLIENT runs an XCLIENT backend for the test.
func startXCLIENT(t *testing.T) *XCLIENTBackend {
	t.Helper()
	b, err := StartXCLIENTBackend("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// dialSMTP connects and reads the greeting.
func dialSMTP(t *testing.T, b *XCLIENTBackend) *rawClient {
	t.Helper()
	rc := dialRaw(t, b.Addr())
	rc.expect("220 " + SMTPDomain + " ")
	return rc
}

// ehlo sends EHLO and returns the reply lines.
func ehlo(rc *rawClient, name string) []string {
	rc.t.Helper()
	rc.send("EHLO " + name + "\r\n")
	return rc.smtpReply()
}

// TestXCLIENTNginxDialogue replays what nginx sends with xclient on and
// proxy_smtp_auth on, and checks what the backend recorded.
func TestXCLIENTNginxDialogue(t *testing.T) {
	b := startXCLIENT(t)
	rc := dialSMTP(t, b)
	reply := ehlo(rc, "proxy.example")
	if reply[0] != "250-"+SMTPDomain || !slices.Contains(reply, "250-XCLIENT NAME ADDR PORT PROTO HELO LOGIN") || reply[len(reply)-1] != "250 AUTH PLAIN" {
		t.Errorf("EHLO answer %q", reply)
	}
	xclient := "XCLIENT ADDR=192.0.2.7 LOGIN=demo NAME=[UNAVAILABLE]\r\n"
	rc.send(xclient)
	rc.expect("220 " + SMTPDomain + " ")
	if r := ehlo(rc, "client.example"); r[len(r)-1] != "250 AUTH PLAIN" {
		t.Errorf("second EHLO answer %q", r)
	}
	ir := base64.StdEncoding.EncodeToString([]byte("\x00demo\x00demo"))
	rc.cmd("AUTH PLAIN "+ir, "235 ")
	rc.cmd("MAIL FROM:<demo@example.com> BODY=8BITMIME", "250 ")
	rc.cmd("RCPT TO:<alice@example.com>", "250 ")
	rc.cmd("rcpt to: bob@example.com", "250 ")
	rc.cmd("DATA", "354 ")
	rc.send("Subject: dots\r\n\r\n..leading dot\r\n...two\r\nbare LF\n.\r\n")
	rc.expect("250 2.0.0 Ok: queued as 1")
	rc.cmd("QUIT", "221 ")
	rc.expectEOF()

	if got := b.XCLIENTLines(); len(got) != 1 || got[0] != xclient {
		t.Errorf("XCLIENT lines %q, want [%q]", got, xclient)
	}
	msgs := b.Messages()
	if len(msgs) != 1 {
		t.Fatalf("%d messages, want 1", len(msgs))
	}
	m := msgs[0]
	want := SMTPMessage{
		From: "demo@example.com", To: []string{"alice@example.com", "bob@example.com"},
		Data: []byte("Subject: dots\r\n\r\n.leading dot\r\n..two\r\nbare LF\n"),
		Helo: "client.example", RemoteAddr: rc.c.LocalAddr().String(), AuthUser: "demo", XCLIENT: xclient,
	}
	if m.From != want.From || !slices.Equal(m.To, want.To) || !bytes.Equal(m.Data, want.Data) ||
		m.Helo != want.Helo || m.RemoteAddr != want.RemoteAddr || m.AuthUser != want.AuthUser || m.XCLIENT != want.XCLIENT {
		t.Errorf("message\n got %+v\nwant %+v", m, want)
	}
	sessions := b.Sessions()
	wantCmds := []string{
		"EHLO proxy.example\r\n", xclient, "EHLO client.example\r\n",
		"AUTH PLAIN " + ir + "\r\n", "MAIL FROM:<demo@example.com> BODY=8BITMIME\r\n",
		"RCPT TO:<alice@example.com>\r\n", "rcpt to: bob@example.com\r\n", "DATA\r\n", "QUIT\r\n",
	}
	if len(sessions) != 1 || !slices.Equal(sessions[0].Commands, wantCmds) || sessions[0].RemoteAddr != want.RemoteAddr {
		t.Errorf("sessions %q,\nwant one with %q", sessions, wantCmds)
	}
}

func TestXCLIENTBigMessage(t *testing.T) {
	b := startXCLIENT(t)
	rc := dialSMTP(t, b)
	rc.cmd("HELO client.example", "250 "+SMTPDomain)
	rc.cmd("MAIL FROM:<>", "250 ")
	rc.cmd("RCPT TO:<alice@example.com>", "250 ")
	rc.cmd("DATA", "354 ")
	big := SizedMessage("alice", 5<<20)
	rc.send(string(big) + ".\r\n")
	rc.expect("250 ")
	m := b.Messages()[0]
	if m.From != "" || m.Helo != "client.example" || m.XCLIENT != "" || m.AuthUser != "" ||
		len(m.Data) != len(big) || sha256.Sum256(m.Data) != sha256.Sum256(big) {
		t.Errorf("message: from %q helo %q, %d bytes, want %d identical bytes", m.From, m.Helo, len(m.Data), len(big))
	}
}

func TestXCLIENTErrors(t *testing.T) {
	b := startXCLIENT(t)
	rc := dialSMTP(t, b)
	rc.cmd("EHLO", "501 ")
	rc.cmd("HELO client.example", "250 ")
	rc.cmd("RCPT TO:<b@example.com>", "503 ")
	rc.cmd("DATA", "503 ")
	rc.cmd("XCLIENT", "501 ")
	rc.cmd("XCLIENT ADDR", "501 ")
	rc.cmd("XCLIENT =x", "501 ")
	rc.cmd("AUTH LOGIN", "504 ")
	rc.cmd("AUTH PLAIN", "334 ")
	rc.cmd("*", "501 ")
	rc.cmd("AUTH PLAIN", "334 ")
	rc.cmd("not base64!", "501 ")
	rc.cmd("AUTH PLAIN =", "501 ")
	rc.cmd("AUTH PLAIN", "334 ")
	rc.cmd(base64.StdEncoding.EncodeToString([]byte("admin\x00alice\x00pw")), "235 ")
	rc.cmd("AUTH PLAIN AGEAYg==", "503 ")
	rc.cmd("MAIL FROM:a@example.com", "250 ")
	rc.cmd("MAIL FROM:<a@example.com>", "503 ")
	rc.cmd("XCLIENT ADDR=192.0.2.1", "503 ")
	rc.cmd("RCPT TO:<>", "501 ")
	rc.cmd("RCPT FROM:<b@example.com>", "501 ")
	rc.cmd("DATA", "503 ")
	rc.cmd("RSET", "250 ")
	rc.cmd("RCPT TO:<b@example.com>", "503 ")
	rc.cmd("NOOP", "250 ")
	rc.cmd("VRFY alice", "500 ")
	// An XCLIENT that passes ends the authentication too.
	rc.cmd("XCLIENT ADDR=192.0.2.1 LOGIN=", "220 ")
	rc.cmd("HELO again.example", "250 ")
	rc.cmd("AUTH PLAIN AGEAYg==", "235 ")
	rc.cmd("MAIL FROM:<a@example.com>", "250 ")
	rc.cmd("RCPT TO:<b@example.com>", "250 ")
	rc.cmd("DATA", "354 ")
	rc.send("x\r\n.\r\n")
	rc.expect("250 ")
	if m := b.Messages()[0]; m.AuthUser != "a" || m.XCLIENT != "XCLIENT ADDR=192.0.2.1 LOGIN=\r\n" || m.Helo != "again.example" {
		t.Errorf("message %+v", m)
	}
	// nginx's flow for a client without HELO: MAIL right after XCLIENT,
	// whose HELO= (xtext) names the client.
	rc.cmd("XCLIENT ADDR=192.0.2.1 LOGIN=a+2Bb HELO=[192.0.2.1]+20x NAME=[UNAVAILABLE]", "220 ")
	rc.cmd("MAIL FROM:<a@example.com>", "250 ")
	rc.cmd("RCPT TO:<b@example.com>", "250 ")
	rc.cmd("DATA", "354 ")
	rc.send(".\r\n")
	rc.expect("250 ")
	if m := b.Messages()[1]; m.AuthUser != "" || m.Helo != "[192.0.2.1] x" || len(m.Data) != 0 {
		t.Errorf("message %+v", m)
	}
	if got := b.XCLIENTLines(); len(got) != 6 {
		t.Errorf("XCLIENT lines %q, want the 6 sent, rejected ones included", got)
	}

	rc = dialSMTP(t, b)
	rc.send("NOOP " + strings.Repeat("x", maxSMTPLine) + "\r\n")
	rc.expect("500 ")
	rc.expectEOF()
}

func TestXCLIENTClose(t *testing.T) {
	b, err := StartXCLIENTBackend("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	rc := dialSMTP(t, b)
	rc.cmd("EHLO x", "250-")
	addr := b.Addr()
	if err := b.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	b.Close() // second call must not block or panic
	rc.smtpReply()
	rc.expectEOF()
	if c, err := net.Dial("tcp", addr); err == nil {
		c.Close()
		t.Error("backend still accepts after Close")
	}
	if _, err := StartXCLIENTBackend("256.0.0.1:0"); err == nil {
		t.Error("StartXCLIENTBackend on a bad address: no error")
	}
}
