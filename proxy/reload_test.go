package proxy_test

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mailproxy/config"
	"mailproxy/proxy"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	defer ln.Close()
	return ln.Addr().String()
}

func reloadConfig(t *testing.T, auth, caps string, listen ...string) *config.Config {
	t.Helper()
	y := fmt.Sprintf("servers:\n  - protocol: imap\n    auth_http: http://%s/auth\n    imap_capabilities: [IMAP4rev1, %s]\n    listen: [%s]\n",
		auth, caps, `"`+strings.Join(listen, `", "`)+`"`)
	cfg, err := config.Parse(filepath.Join(t.TempDir(), "r.yaml"), []byte(y))
	must(t, err)
	setTestEngine(cfg, y)
	return cfg
}

// TestReload: a reload keeps unchanged sockets, binds new ones, closes
// removed ones, serves new connections with the new configuration and
// leaves established sessions (pre-auth and spliced) on the old one; a
// configuration that fails to build or bind changes nothing.
func TestReload(t *testing.T) {
	be := startIMAPBackend(t)
	auth := startAuth(t, okTo(be.Addr()))
	a1, a2 := freeAddr(t), freeAddr(t)
	srv, err := proxy.New(reloadConfig(t, auth.addr(), "OLD", a1), testLogger())
	must(t, err)
	must(t, srv.Listen())
	done := make(chan struct{})
	go func() { srv.Serve(); close(done) }()
	t.Cleanup(func() { srv.Close(); <-done })

	caps := func(c *rawConn, tag, want string) {
		t.Helper()
		c.send(tag + " CAPABILITY\r\n")
		c.expect("* CAPABILITY IMAP4rev1 " + want + " AUTH=PLAIN\r\n" + tag + " OK completed\r\n")
	}
	preauth := dialRaw(t, a1)
	preauth.expect("* OK IMAP4 ready\r\n")
	spliced := dialRaw(t, a1)
	spliced.expect("* OK IMAP4 ready\r\n")
	spliced.send("a LOGIN alice secret\r\n")
	spliced.c.SetReadDeadline(deadline())
	if l, err := spliced.r.ReadString('\n'); err != nil || !strings.HasPrefix(l, "a OK") {
		t.Fatalf("login: %q %v", l, err)
	}

	must(t, srv.Reload(reloadConfig(t, auth.addr(), "NEW", a1, a2)))
	caps(preauth, "p1", "OLD")
	fresh := dialRaw(t, a1)
	fresh.expect("* OK IMAP4 ready\r\n")
	caps(fresh, "f1", "NEW")
	added := dialRaw(t, a2)
	added.expect("* OK IMAP4 ready\r\n")
	spliced.send("b NOOP\r\n")
	if l, _ := spliced.r.ReadString('\n'); !strings.HasPrefix(l, "b OK") {
		t.Fatalf("spliced session after reload: %q", l)
	}

	// A configuration that does not build is refused; the old one serves.
	bad := reloadConfig(t, auth.addr(), "BAD", a1)
	bad.Servers[0].Protocol = "gopher"
	if err := srv.Reload(bad); err == nil {
		t.Fatal("a broken configuration was accepted")
	}
	// An address that cannot be bound rolls the reload back.
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	defer busy.Close()
	if err := srv.Reload(reloadConfig(t, auth.addr(), "BUSY", a1, busy.Addr().String())); err == nil {
		t.Fatal("a reload with a busy address succeeded")
	}
	again := dialRaw(t, a1)
	again.expect("* OK IMAP4 ready\r\n")
	caps(again, "g1", "NEW")

	// Removing a2 closes it.
	must(t, srv.Reload(reloadConfig(t, auth.addr(), "LAST", a1)))
	if c, err := net.DialTimeout("tcp", a2, time.Second); err == nil {
		c.Close()
		t.Fatal("removed listener still accepts")
	}
	added.send("x NOOP\r\n")
	added.expect("x OK completed\r\n")
	caps(preauth, "p2", "OLD")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, c := range []*rawConn{preauth, spliced, fresh, added, again} {
		c.c.Close()
	}
	must(t, srv.Shutdown(ctx))
}

// TestReloadReplacingEveryListener: a reload that changes every listen
// address keeps the server running on the new ones (Serve must not see
// zero accept loops and return).
func TestReloadReplacingEveryListener(t *testing.T) {
	auth := startAuth(t, failAuth)
	a1, a2 := freeAddr(t), freeAddr(t)
	srv, err := proxy.New(reloadConfig(t, auth.addr(), "ONE", a1), testLogger())
	must(t, err)
	must(t, srv.Listen())
	done := make(chan struct{})
	go func() { srv.Serve(); close(done) }()
	t.Cleanup(func() { srv.Close(); <-done })
	for i := 0; i < 5; i++ {
		must(t, srv.Reload(reloadConfig(t, auth.addr(), "TWO", a2)))
		must(t, srv.Reload(reloadConfig(t, auth.addr(), "ONE", a1)))
	}
	select {
	case <-done:
		t.Fatal("Serve returned during reloads")
	case <-time.After(100 * time.Millisecond):
	}
	c := dialRaw(t, a1)
	c.expect("* OK IMAP4 ready\r\n")
}
