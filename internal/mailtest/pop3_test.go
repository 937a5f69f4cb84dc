package mailtest

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"net"
	"strings"
	"testing"
)

// startPOP3 runs a backend with demo/demo and alice/secret for the test.
func startPOP3(t *testing.T, seed bool) *POP3Backend {
	t.Helper()
	b, err := StartPOP3Backend("127.0.0.1:0", map[string]string{"demo": "demo", "alice": "secret"}, seed)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// pop3Login connects and logs in with USER/PASS.
func pop3Login(t *testing.T, b *POP3Backend, user, pass string) *rawClient {
	t.Helper()
	rc := dialRaw(t, b.Addr())
	rc.expect("+OK")
	rc.cmd("USER "+user, "+OK")
	rc.cmd("PASS "+pass, "+OK")
	return rc
}

// retr fetches message n and returns it unstuffed.
func retr(t *testing.T, rc *rawClient, n int) []byte {
	t.Helper()
	rc.cmd(fmt.Sprintf("RETR %d", n), "+OK")
	return rc.multiline()
}

func TestPOP3Seeded(t *testing.T) {
	b := startPOP3(t, true)
	for _, u := range []struct{ name, pass string }{{"demo", "demo"}, {"alice", "secret"}} {
		rc := pop3Login(t, b, u.name, u.pass)
		want := DemoMessages(u.name)
		total := 0
		var list, uidl strings.Builder
		for i, m := range want {
			total += len(m)
			fmt.Fprintf(&list, "%d %d\r\n", i+1, len(m))
			fmt.Fprintf(&uidl, "%d %d\r\n", i+1, i+1)
		}
		if got := rc.cmd("STAT", "+OK"); got != fmt.Sprintf("+OK 3 %d", total) {
			t.Errorf("STAT: %q", got)
		}
		rc.cmd("LIST", "+OK 3 messages")
		if got := string(rc.multiline()); got != list.String() {
			t.Errorf("LIST: %q, want %q", got, list.String())
		}
		rc.cmd("UIDL", "+OK")
		if got := string(rc.multiline()); got != uidl.String() {
			t.Errorf("UIDL: %q, want %q", got, uidl.String())
		}
		if got := rc.cmd("LIST 2", "+OK"); got != fmt.Sprintf("+OK 2 %d", len(want[1])) {
			t.Errorf("LIST 2: %q", got)
		}
		if got := rc.cmd("UIDL 3", "+OK"); got != "+OK 3 3" {
			t.Errorf("UIDL 3: %q", got)
		}
		for i, w := range want {
			if got := retr(t, rc, i+1); !bytes.Equal(got, w) {
				t.Errorf("%s RETR %d: %q, want %q", u.name, i+1, got, w)
			}
		}
		rc.cmd("NOOP", "+OK")
		rc.cmd("QUIT", "+OK")
		rc.expectEOF()
	}
}

func TestPOP3BigMessage(t *testing.T) {
	b := startPOP3(t, true)
	const size = 5 << 20
	msg := SizedMessage("demo", size)
	uid, err := b.Append("demo", msg)
	if err != nil {
		t.Fatal(err)
	}
	if uid != "4" {
		t.Errorf("unique-id %q, want 4", uid)
	}
	rc := pop3Login(t, b, "demo", "demo")
	if got := rc.cmd("LIST 4", "+OK"); got != fmt.Sprintf("+OK 4 %d", size) {
		t.Errorf("LIST 4: %q", got)
	}
	got := retr(t, rc, 4)
	if len(got) != size || sha256.Sum256(got) != sha256.Sum256(msg) {
		t.Errorf("RETR 4: %d bytes with another checksum, want %d identical bytes", len(got), size)
	}
	if _, err := b.Append("nobody", msg); err == nil {
		t.Error("append for an unknown user: no error")
	}
}

func TestPOP3DotStuffingAndTop(t *testing.T) {
	b := startPOP3(t, false)
	msg := []byte("Subject: dots\r\n\r\n.leading dot\r\n..two\r\n.\r\nlast line")
	if _, err := b.Append("demo", msg); err != nil {
		t.Fatal(err)
	}
	rc := pop3Login(t, b, "demo", "demo")
	rc.cmd("RETR 1", fmt.Sprintf("+OK %d octets", len(msg)))
	var raw []byte
	for !bytes.HasSuffix(raw, []byte("\r\n.\r\n")) {
		raw = append(raw, rc.line()+"\r\n"...)
	}
	want := "Subject: dots\r\n\r\n..leading dot\r\n...two\r\n..\r\nlast line\r\n.\r\n"
	if string(raw) != want {
		t.Errorf("RETR wire form %q, want %q", raw, want)
	}

	rc.cmd("TOP 1 0", "+OK")
	if got := string(rc.multiline()); got != "Subject: dots\r\n\r\n" {
		t.Errorf("TOP 1 0: %q", got)
	}
	rc.cmd("TOP 1 2", "+OK")
	if got := string(rc.multiline()); got != "Subject: dots\r\n\r\n.leading dot\r\n..two\r\n" {
		t.Errorf("TOP 1 2: %q", got)
	}
	rc.cmd("TOP 1 99", "+OK")
	if got := string(rc.multiline()); got != string(msg)+"\r\n" {
		t.Errorf("TOP 1 99: %q", got)
	}
	rc.cmd("TOP 1", "-ERR")
	rc.cmd("TOP 2 0", "-ERR")
}

func TestPOP3DeleRsetQuit(t *testing.T) {
	b := startPOP3(t, true)
	rc := pop3Login(t, b, "demo", "demo")
	rc.cmd("DELE 1", "+OK")
	rc.cmd("DELE 1", "-ERR")
	rc.cmd("RETR 1", "-ERR")
	rc.cmd("LIST 1", "-ERR")
	rc.cmd("STAT", "+OK 2 ")
	rc.cmd("RSET", "+OK maildrop has 3 messages")
	rc.cmd("RETR 1", "+OK")
	rc.multiline()
	rc.cmd("DELE 2", "+OK")
	demo := DemoMessages("demo")
	rc.cmd("LIST", "+OK 2 messages")
	if got, want := string(rc.multiline()), fmt.Sprintf("1 %d\r\n3 %d\r\n", len(demo[0]), len(demo[2])); got != want {
		t.Errorf("LIST after DELE 2: %q, want %q", got, want)
	}

	// A second session sees all three until the first one quits.
	other := pop3Login(t, b, "demo", "demo")
	other.cmd("STAT", "+OK 3 ")
	rc.cmd("QUIT", "+OK bye (2 messages left)")
	rc.expectEOF()
	other.cmd("STAT", "+OK 3 ")

	if got := b.Messages("demo"); len(got) != 2 || !bytes.Equal(got[0], demo[0]) || !bytes.Equal(got[1], demo[2]) {
		t.Errorf("maildrop after QUIT holds %d messages", len(got))
	}
	if b.Messages("nobody") != nil {
		t.Error("Messages of an unknown user is not nil")
	}
	rc = pop3Login(t, b, "demo", "demo")
	rc.cmd("UIDL", "+OK")
	if got := string(rc.multiline()); got != "1 1\r\n2 3\r\n" {
		t.Errorf("UIDL after QUIT: %q", got)
	}
	if got := retr(t, rc, 2); !bytes.Equal(got, demo[2]) {
		t.Errorf("RETR 2 is not the old message 3: %q", got)
	}
	// A session that quits without DELE leaves the maildrop alone.
	other.cmd("QUIT", "+OK bye (2 messages left)")
}

func TestPOP3Authorization(t *testing.T) {
	b := startPOP3(t, true)
	rc := dialRaw(t, b.Addr())
	if g := rc.expect("+OK"); strings.Contains(g, "<") {
		t.Errorf("greeting %q has an APOP timestamp but APOP is not offered", g)
	}
	rc.send("CAPA\r\n")
	rc.expect("+OK")
	caps := string(rc.multiline())
	for _, c := range []string{"USER\r\n", "TOP\r\n", "UIDL\r\n", "RESP-CODES\r\n"} {
		if !strings.Contains(caps, c) {
			t.Errorf("CAPA %q lacks %q", caps, c)
		}
	}
	rc.cmd("STAT", "-ERR")
	rc.cmd("NOOP", "-ERR")
	rc.cmd("DELE 1", "-ERR")
	rc.cmd("PASS demo", "-ERR send USER first")
	rc.cmd("USER", "-ERR")
	rc.cmd("USER demo", "+OK")
	rc.cmd("PASS wrong", "-ERR [AUTH]")
	rc.cmd("PASS demo", "-ERR send USER first")
	rc.cmd("USER nobody", "+OK")
	rc.cmd("PASS demo", "-ERR [AUTH]")
	rc.cmd("user alice", "+OK")
	rc.cmd("pass secret", "+OK alice has 3 messages")
	rc.cmd("USER demo", "-ERR")
	rc.cmd("RETR x", "-ERR")
	rc.cmd("RETR +1", "-ERR")
	rc.cmd("RETR 0", "-ERR")
	rc.cmd("XYZZY", "-ERR")
	rc.cmd("CAPA", "+OK")
	rc.multiline()
	rc.cmd("QUIT", "+OK")

	// Pipelined commands in one write are answered in order.
	rc = dialRaw(t, b.Addr())
	rc.expect("+OK")
	rc.send("USER demo\r\nPASS demo\r\nSTAT\r\nQUIT\r\n")
	rc.expect("+OK send PASS")
	rc.expect("+OK demo has 3")
	rc.expect("+OK 3 ")
	rc.expect("+OK bye")
	rc.expectEOF()

	// A password with spaces and a password-less user.
	if err := b.AddUser("spacey", "a b  c", false); err != nil {
		t.Fatal(err)
	}
	if err := b.AddUser("spacey", "x", false); err == nil {
		t.Error("adding spacey twice: no error")
	}
	rc = pop3Login(t, b, "spacey", "a b  c")
	rc.cmd("STAT", "+OK 0 0")

	// QUIT before login.
	rc = dialRaw(t, b.Addr())
	rc.expect("+OK")
	rc.cmd("QUIT", "+OK bye")
	rc.expectEOF()
}

func TestPOP3LongLine(t *testing.T) {
	b := startPOP3(t, true)
	rc := dialRaw(t, b.Addr())
	rc.expect("+OK")
	rc.send("USER " + strings.Repeat("x", maxPOP3Line) + "\r\n")
	rc.expect("-ERR line too long")
	rc.expectEOF()
}

func TestPOP3Close(t *testing.T) {
	b, err := StartPOP3Backend("127.0.0.1:0", map[string]string{"demo": "demo"}, true)
	if err != nil {
		t.Fatal(err)
	}
	rc := pop3Login(t, b, "demo", "demo") // an open session must not block Close
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
	if _, err := StartPOP3Backend("256.0.0.1:0", nil, false); err == nil {
		t.Error("StartPOP3Backend on a bad address: no error")
	}
}
