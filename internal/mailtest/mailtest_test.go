package mailtest

import (
	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/mail"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// start runs a seeded backend for the test's lifetime.
func start(t *testing.T, seed bool) *IMAPBackend {
	t.Helper()
	b, err := StartIMAPBackend("127.0.0.1:0", map[string]string{"demo": "demo", "alice": "secret"}, seed)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// dial logs in to b and selects INBOX.
func dial(t *testing.T, b *IMAPBackend, user, pass string) (*imapclient.Client, *imap.SelectData) {
	t.Helper()
	c, err := imapclient.DialInsecure(b.Addr(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.WaitGreeting(); err != nil {
		t.Fatal(err)
	}
	if err := c.Login(user, pass).Wait(); err != nil {
		t.Fatalf("login %s: %v", user, err)
	}
	sd, err := c.Select("INBOX", nil).Wait()
	if err != nil {
		t.Fatal(err)
	}
	return c, sd
}

// fetchBody returns BODY[] of the message with uid.
func fetchBody(t *testing.T, c *imapclient.Client, uid imap.UID) []byte {
	t.Helper()
	bs := &imap.FetchItemBodySection{}
	msgs, err := c.Fetch(imap.UIDSetNum(uid), &imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{bs}}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 1 {
		t.Fatalf("fetched %d messages, want 1", len(msgs))
	}
	return msgs[0].FindBodySection(bs)
}

func TestIMAPBackendSeeded(t *testing.T) {
	b := start(t, true)
	for _, u := range []struct{ name, pass string }{{"demo", "demo"}, {"alice", "secret"}} {
		c, sd := dial(t, b, u.name, u.pass)
		want := DemoMessages(u.name)
		if sd.NumMessages != uint32(len(want)) {
			t.Fatalf("%s: %d messages, want %d", u.name, sd.NumMessages, len(want))
		}
		for i, w := range want {
			if got := fetchBody(t, c, imap.UID(i+1)); !bytes.Equal(got, w) {
				t.Errorf("%s UID %d: got %q, want %q", u.name, i+1, got, w)
			}
		}
	}
	if caps := greetingCaps(t, b.Addr()); !caps.Has(imap.CapIMAP4rev1) {
		t.Errorf("caps %v lack IMAP4rev1", caps)
	}
}

// greetingCaps returns the capabilities the server at addr announces.
func greetingCaps(t *testing.T, addr string) imap.CapSet {
	t.Helper()
	c, err := imapclient.DialInsecure(addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.WaitGreeting(); err != nil {
		t.Fatal(err)
	}
	return c.Caps()
}

func TestIMAPBackendUnseededAndBadLogin(t *testing.T) {
	b := start(t, false)
	_, sd := dial(t, b, "demo", "demo")
	if sd.NumMessages != 0 {
		t.Errorf("%d messages in an unseeded INBOX", sd.NumMessages)
	}
	c, err := imapclient.DialInsecure(b.Addr(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login("demo", "wrong").Wait(); err == nil {
		t.Error("login with a wrong password succeeded")
	}
	if err := c.Login("nobody", "demo").Wait(); err == nil {
		t.Error("login of an unknown user succeeded")
	}
}

func TestIMAPBackendAppendBig(t *testing.T) {
	b := start(t, true)
	const size = 5 << 20
	msg := SizedMessage("demo", size)
	uid, err := b.Append("demo", msg)
	if err != nil {
		t.Fatal(err)
	}
	if uid != 4 {
		t.Errorf("UID %d, want 4 (after 3 seeded messages)", uid)
	}
	c, _ := dial(t, b, "demo", "demo")
	got := fetchBody(t, c, uid)
	if len(got) != size || sha256.Sum256(got) != sha256.Sum256(msg) {
		t.Errorf("fetched %d bytes with another checksum, want %d identical bytes", len(got), size)
	}
	if _, err := b.Append("nobody", msg); err == nil {
		t.Error("append for an unknown user: no error")
	}
}

func TestAddUser(t *testing.T) {
	b := start(t, false)
	if err := b.AddUser("carol", "pw", true); err != nil {
		t.Fatal(err)
	}
	if err := b.AddUser("carol", "pw", false); err == nil {
		t.Error("adding carol twice: no error")
	}
	if _, sd := dial(t, b, "carol", "pw"); sd.NumMessages != 3 {
		t.Errorf("carol has %d messages, want 3", sd.NumMessages)
	}
}

func TestIMAPBackendClose(t *testing.T) {
	b, err := StartIMAPBackend("127.0.0.1:0", nil, false)
	if err != nil {
		t.Fatal(err)
	}
	addr := b.Addr()
	if err := b.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	b.Close() // second call must not block or panic
	if c, err := net.Dial("tcp", addr); err == nil {
		c.Close()
		t.Error("backend still accepts after Close")
	}
	if _, err := StartIMAPBackend("256.0.0.1:0", nil, false); err == nil {
		t.Error("StartIMAPBackend on a bad address: no error")
	}
}

func TestDemoMessagesAreRFC5322(t *testing.T) {
	for _, m := range append(DemoMessages("john doe@x"), SizedMessage("demo", 10000)) {
		msg, err := mail.ReadMessage(bytes.NewReader(m))
		if err != nil {
			t.Fatalf("%q: %v", m, err)
		}
		for _, h := range []string{"Date", "From", "To", "Subject", "Message-Id"} {
			if msg.Header.Get(h) == "" {
				t.Errorf("no %s in %q", h, m)
			}
		}
		if _, err := msg.Header.Date(); err != nil {
			t.Errorf("Date: %v", err)
		}
		if _, err := msg.Header.AddressList("To"); err != nil {
			t.Errorf("To: %v", err)
		}
		if strings.Contains(strings.ReplaceAll(string(m), "\r\n", ""), "\n") {
			t.Errorf("bare LF in %q", m)
		}
	}
}

func TestSizedMessage(t *testing.T) {
	minSize := len(SizedMessage("u", 0))
	for size := 0; size < minSize+400; size++ {
		m := SizedMessage("u", size)
		if want := max(size, minSize); len(m) != want {
			t.Fatalf("size %d: got %d bytes, want %d", size, len(m), want)
		}
		if !bytes.HasSuffix(m, []byte("\r\n")) {
			t.Fatalf("size %d: does not end in CRLF", size)
		}
		for _, line := range strings.Split(string(m), "\r\n") {
			if len(line) > 78 || strings.ContainsAny(line, "\r\n") {
				t.Fatalf("size %d: bad line %q", size, line)
			}
		}
	}
	if !bytes.Equal(SizedMessage("u", 5000), SizedMessage("u", 5000)) {
		t.Error("SizedMessage is not deterministic")
	}
}

func TestSelfSignedCert(t *testing.T) {
	certFile, keyFile, err := WriteSelfSignedCert(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(keyFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode: %v %v", fi.Mode(), err)
	}
	leaf, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(leaf)
	for _, name := range []string{"localhost", "127.0.0.1", "::1"} {
		if _, err := leaf.Verify(x509.VerifyOptions{DNSName: name, Roots: roots}); err != nil {
			t.Errorf("verify for %s: %v", name, err)
		}
	}

	// A real handshake with verification against the certificate itself.
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{pair}})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err == nil {
			c.(*tls.Conn).Handshake()
			c.Close()
		}
	}()
	c, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{RootCAs: roots, ServerName: "localhost"})
	if err != nil {
		t.Fatalf("handshake: %v", err)
	}
	c.Close()
}

// TestSyncBuffer: concurrent writes all arrive, whole, and may be read
// while they come.
func TestSyncBuffer(t *testing.T) {
	var b SyncBuffer
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				b.Write([]byte("line\n"))
				_ = b.String()
			}
		})
	}
	wg.Wait()
	if got := strings.Count(b.String(), "line\n"); got != 800 || len(b.String()) != 800*len("line\n") {
		t.Errorf("%d whole lines in %d bytes, want 800", got, len(b.String()))
	}
	if b.Cap() < len(b.String()) {
		t.Errorf("Cap %d below the %d bytes held", b.Cap(), len(b.String()))
	}
}
