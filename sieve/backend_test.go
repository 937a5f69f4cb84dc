package sieve

import (
	"encoding/base64"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"mailproxy/internal/backend"
	"mailproxy/internal/session"
	"mailproxy/internal/sessiontest"
)

// dovecotGreeting is a Dovecot Pigeonhole greeting.
const dovecotGreeting = "\"IMPLEMENTATION\" \"Dovecot Pigeonhole\"\r\n" +
	"\"SIEVE\" \"fileinto reject envelope encoded-character vacation subaddress comparator-i;ascii-numeric relational regex imap4flags copy include variables body enotify environment mailbox date index ihave duplicate mime foreverypart extracttext\"\r\n" +
	"\"NOTIFY\" \"mailto\"\r\n" +
	"\"SASL\" \"PLAIN LOGIN\"\r\n" +
	"\"STARTTLS\"\r\n" +
	"\"VERSION\" \"1.0\"\r\n" +
	"OK \"Dovecot ready.\"\r\n"

// authLine is the AUTHENTICATE the proxy must send for user and pass,
// computed independently of the code under test.
func authLine(user, pass string) string {
	return "AUTHENTICATE \"PLAIN\" \"" + base64.StdEncoding.EncodeToString([]byte("\x00"+user+"\x00"+pass)) + "\"\r\n"
}

// runBackend plays script against l's hand-over (the plain ManageSieve
// login when it has none; see sessiontest.PlayBackend).
func runBackend(t *testing.T, l *session.Login, bufSize int, script ...string) ([]byte, error) {
	t.Helper()
	h := l.Handover
	if h == nil {
		h = Handover()
	}
	return sessiontest.PlayBackend(t, h, l, bufSize, script...).Strict(t)
}

// TestLoginBackend: the greeting is read up to its OK, then AUTHENTICATE
// "PLAIN" with the initial response as a quoted string; the backend's OK
// is what the client gets.
func TestLoginBackend(t *testing.T) {
	cases := []struct {
		name       string
		user, pass string
		script     []string
		relay      string
	}{
		{"dovecot", "bob", "s3cret", []string{
			"B: " + dovecotGreeting, "S: AUTHENTICATE \"PLAIN\" \"AGJvYgBzM2NyZXQ=\"\r\n", "B: OK \"Logged in.\"\r\n",
		}, "OK \"Logged in.\"\r\n"},
		{"special-chars", "bob@example.com", `p"w\ d é`, []string{
			"B: " + dovecotGreeting, "S: " + authLine("bob@example.com", `p"w\ d é`), "B: OK \"Logged in.\"\r\n",
		}, "OK \"Logged in.\"\r\n"},
		{"greeting-line-by-line", "u", "p", append(
			func() (s []string) {
				for _, l := range strings.SplitAfter(dovecotGreeting, "\r\n") {
					if l != "" {
						s = append(s, "B: "+l)
					}
				}
				return s
			}(),
			"S: "+authLine("u", "p"), "B: OK \"Logged in.\"\r\n"),
			"OK \"Logged in.\"\r\n"},
		{"greeting-in-pieces", "u", "p", []string{
			"B: \"IMPLEMENTATION\" \"Dove", "B: cot\"\r", "B: \n\"SASL\" \"PLAIN\"\r\n\"VERSION\" \"1.0\"\r\nO", "B: K", "B: \r\n",
			"S: " + authLine("u", "p"), "B: OK \"Lo", "B: gged in.\"\r\n",
		}, "OK \"Logged in.\"\r\n"},
		{"greeting-ok-only", "u", "p", []string{"B: OK\r\n", "S: " + authLine("u", "p"), "B: OK\r\n"}, "OK\r\n"},
		{"ok-response-code", "u", "p", []string{
			"B: " + dovecotGreeting, "S: " + authLine("u", "p"), "B: OK (SASL \"dGhpcw==\") \"Logged in.\"\r\n",
		}, "OK (SASL \"dGhpcw==\") \"Logged in.\"\r\n"},
		{"ok-lower-case", "u", "p", []string{
			"B: ok \"Dovecot ready.\"\r\n", "S: " + authLine("u", "p"), "B: ok \"Logged in.\"\r\n",
		}, "ok \"Logged in.\"\r\n"},
		{"empty-password", "u", "", []string{"B: " + dovecotGreeting, "S: AUTHENTICATE \"PLAIN\" \"AHUA\"\r\n", "B: OK\r\n"}, "OK\r\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			relay, err := runBackend(t, &session.Login{User: tc.user, Pass: tc.pass}, 4096, tc.script...)
			if err != nil || string(relay) != tc.relay {
				t.Fatalf("relay %q, err %v; want %q", relay, err, tc.relay)
			}
		})
	}
}

// TestLoginBackendRejections: a greeting or a reply other than OK fails
// with the backend's reply (for proxy_pass_error_message) and its last
// line as the text.
func TestLoginBackendRejections(t *testing.T) {
	auth := "S: " + authLine("u", "p")
	cases := []struct {
		name   string
		script []string
		reply  string
		text   string
	}{
		{"no", []string{"B: " + dovecotGreeting, auth, "B: NO \"Authentication failed.\"\r\n"},
			"NO \"Authentication failed.\"\r\n", "NO \"Authentication failed.\""},
		{"no-response-code", []string{"B: " + dovecotGreeting, auth, "B: NO (TRYLATER) \"Busy.\"\r\n"},
			"NO (TRYLATER) \"Busy.\"\r\n", "NO (TRYLATER) \"Busy.\""},
		{"bye-after-auth", []string{"B: " + dovecotGreeting, auth, "B: BYE \"Shutting down.\"\r\n"},
			"BYE \"Shutting down.\"\r\n", "BYE \"Shutting down.\""},
		{"challenge-after-auth", []string{"B: " + dovecotGreeting, auth, "B: \"\"\r\n"},
			"\"\"\r\n", "\"\""},
		{"greeting-bye", []string{"B: BYE \"Too many connections.\"\r\n"},
			"BYE \"Too many connections.\"\r\n", "BYE \"Too many connections.\""},
		{"greeting-capabilities-then-bye", []string{"B: \"IMPLEMENTATION\" \"x\"\r\n", "B: BYE \"Going away.\"\r\n"},
			"\"IMPLEMENTATION\" \"x\"\r\nBYE \"Going away.\"\r\n", "BYE \"Going away.\""},
		{"greeting-no", []string{"B: \"IMPLEMENTATION\" \"x\"\r\nNO \"Maintenance.\"\r\n"},
			"\"IMPLEMENTATION\" \"x\"\r\nNO \"Maintenance.\"\r\n", "NO \"Maintenance.\""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			relay, err := runBackend(t, &session.Login{User: "u", Pass: "p"}, 4096, tc.script...)
			var be *session.BackendError
			if relay != nil || !errors.As(err, &be) || string(be.Reply) != tc.reply || be.Text != tc.text {
				t.Fatalf("relay %q, err %#v; want reply %q text %q", relay, err, tc.reply, tc.text)
			}
		})
	}
}

// TestLoginBackendTransportFailures: the deadline, a closed connection
// and an overlong reply fail without a reply to pass on.
func TestLoginBackendTransportFailures(t *testing.T) {
	l := &session.Login{User: "u", Pass: "p"}
	var be *session.BackendError

	// A silent backend, one that stops mid-greeting, or one that never
	// answers the AUTHENTICATE runs into the deadline.
	for _, greet := range []string{"", "\"IMPLEMENTATION\" \"x\"\r\n", "OK bare LF\n", dovecotGreeting} {
		px, bk := sessiontest.TCPPair(t)
		io.WriteString(bk, greet)
		start := time.Now()
		relay, err := Handover().LoginBackend(px, l, 4096, time.Now().Add(300*time.Millisecond))
		var ne net.Error
		if relay != nil || !errors.As(err, &be) || be.Reply != nil || !errors.As(err, &ne) || !ne.Timeout() {
			t.Fatalf("greeting %q: relay %q err %#v", greet, relay, err)
		}
		if d := time.Since(start); d < 250*time.Millisecond || d > 2*time.Second {
			t.Fatalf("greeting %q: failed after %v", greet, d)
		}
		// The deadline is cleared on return.
		io.WriteString(bk, "x")
		px.SetReadDeadline(time.Time{})
		time.Sleep(50 * time.Millisecond)
		if _, err := px.Read(make([]byte, 4096)); err != nil {
			t.Fatalf("greeting %q: read after LoginBackend: %v", greet, err)
		}
	}

	// A backend that closes.
	for _, greet := range []string{"", dovecotGreeting} {
		px, bk := sessiontest.TCPPair(t)
		go func() {
			io.WriteString(bk, greet)
			if greet != "" {
				bk.SetReadDeadline(time.Now().Add(2 * time.Second))
				io.ReadFull(bk, make([]byte, len(authLine("u", "p"))))
			}
			bk.Close()
		}()
		relay, err := Handover().LoginBackend(px, l, 4096, time.Now().Add(2*time.Second))
		if relay != nil || !errors.As(err, &be) || be.Reply != nil || !errors.Is(err, io.EOF) {
			t.Fatalf("closed after %q: relay %q err %#v", greet, relay, err)
		}
	}

	// A greeting or reply that does not fit proxy_buffer.
	_, err := runBackend(t, l, 64, "B: "+dovecotGreeting)
	if !errors.As(err, &be) || be.Reply != nil || !errors.Is(err, backend.ErrTooLong) {
		t.Fatalf("overlong greeting: %#v", err)
	}
	_, err = runBackend(t, l, 64, "B: OK\r\n", "S: "+authLine("u", "p"), "B: OK \""+strings.Repeat("g", 100)+"\"\r\n")
	if !errors.As(err, &be) || be.Reply != nil || !errors.Is(err, backend.ErrTooLong) {
		t.Fatalf("overlong reply: %#v", err)
	}
}

// TestLoginBackendSuccessClearsDeadline: after a login the connection
// has no deadline left (the splice must not time out).
func TestLoginBackendSuccessClearsDeadline(t *testing.T) {
	px, bk := sessiontest.TCPPair(t)
	go func() {
		io.WriteString(bk, "OK\r\n")
		io.ReadFull(bk, make([]byte, len(authLine("u", "p"))))
		io.WriteString(bk, "OK\r\n")
	}()
	relay, err := Handover().LoginBackend(px, &session.Login{User: "u", Pass: "p"}, 4096, time.Now().Add(200*time.Millisecond))
	if err != nil || string(relay) != "OK\r\n" {
		t.Fatalf("%q %v", relay, err)
	}
	time.Sleep(300 * time.Millisecond)
	io.WriteString(bk, "later")
	buf := make([]byte, 5)
	if _, err := io.ReadFull(px, buf); err != nil || string(buf) != "later" {
		t.Fatalf("read after the deadline: %q %v", buf, err)
	}
}

// TestLoginBackendRefusesUnsafe: a user or password with CR, LF or NUL
// is refused before anything is read or sent.
func TestLoginBackendRefusesUnsafe(t *testing.T) {
	for _, l := range []*session.Login{
		{User: "bob", Pass: "x\r\nLOGOUT"},
		{User: "bob\nLOGOUT", Pass: "p"},
		{User: "bob\r", Pass: "p"},
		{User: "bob", Pass: "p\x00q"},
		{User: "\x00admin", Pass: "p"},
	} {
		px, be := sessiontest.TCPPair(t)
		io.WriteString(be, dovecotGreeting)
		relay, err := Handover().LoginBackend(px, l, 4096, time.Now().Add(time.Second))
		var bErr *session.BackendError
		if relay != nil || !errors.Is(err, backend.ErrUnsafeArgument) || !errors.As(err, &bErr) || bErr.Reply != nil {
			t.Fatalf("%q/%q: relay %q err %#v", l.User, l.Pass, relay, err)
		}
		be.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		if n, _ := be.Read(make([]byte, 64)); n != 0 {
			t.Fatalf("%q/%q: the backend received %d bytes", l.User, l.Pass, n)
		}
	}
}
