package upstream

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"mailproxy/internal/pkitest"
)

// listen returns a loopback listener that accepts and holds connections.
func listen(t *testing.T) (net.Listener, netip.AddrPort) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { c.Close() })
		}
	}()
	return ln, netip.MustParseAddrPort(ln.Addr().String())
}

// closedPort is a loopback port nothing listens on.
func closedPort(t *testing.T) uint16 {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln.Close()
	return netip.MustParseAddrPort(ln.Addr().String()).Port()
}

func TestDialAddress(t *testing.T) {
	_, ap := listen(t)
	var d Dialer
	c, got, err := d.Dial(context.Background(), ap, "", 0, time.Now().Add(time.Second))
	if err != nil || got != ap {
		t.Fatalf("%v %v", got, err)
	}
	c.Close()
	down := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), closedPort(t))
	_, _, err = d.Dial(context.Background(), down, "", 0, time.Now().Add(time.Second))
	var de *DialError
	if !errors.As(err, &de) || de.Lookup || de.Upstream != down.String() {
		t.Errorf("down: %v", err)
	}
}

// TestDialNameInOrder: every address of a name is tried in order until
// one connects; the answer is kept for its TTL (or Valid), then asked
// again.
func TestDialNameInOrder(t *testing.T) {
	_, ap := listen(t)
	var lookups atomic.Int32
	ttl := 150 * time.Millisecond
	d := &Dialer{Lookup: func(_ context.Context, name string) ([]netip.Addr, time.Duration, error) {
		lookups.Add(1)
		if name != "imap.test" {
			return nil, 0, errors.New(`"` + name + `" could not be resolved (3: Host not found)`)
		}
		// 127.0.0.2 refuses the port (nothing listens there), 127.0.0.1
		// accepts.
		return []netip.Addr{netip.MustParseAddr("127.0.0.2"), ap.Addr()}, ttl, nil
	}}
	for i := range 2 {
		c, got, err := d.Dial(context.Background(), netip.AddrPort{}, "imap.test", ap.Port(), time.Now().Add(time.Second))
		if err != nil || got != ap {
			t.Fatalf("dial %d: %v %v", i, got, err)
		}
		c.Close()
	}
	if n := lookups.Load(); n != 1 {
		t.Errorf("%d lookups within the TTL, want 1", n)
	}
	time.Sleep(ttl + 50*time.Millisecond)
	c, _, err := d.Dial(context.Background(), netip.AddrPort{}, "imap.test", ap.Port(), time.Now().Add(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	if n := lookups.Load(); n != 2 {
		t.Errorf("%d lookups after the TTL, want 2", n)
	}
	_, _, err = d.Dial(context.Background(), netip.AddrPort{}, "nowhere.test", 143, time.Now().Add(time.Second))
	var de *DialError
	if !errors.As(err, &de) || !de.Lookup || err.Error() != `cannot resolve nowhere.test:143: "nowhere.test" could not be resolved (3: Host not found)` {
		t.Errorf("nowhere: %v", err)
	}

	// Every address refuses: one error naming them all.
	port := closedPort(t)
	_, _, err = d.Dial(context.Background(), netip.AddrPort{}, "imap.test", port, time.Now().Add(time.Second))
	if err == nil || strings.Count(err.Error(), "refused") != 2 {
		t.Errorf("all refused: %v", err)
	}

	// valid= replaces the TTL; a zero TTL keeps nothing.
	v := &Dialer{Valid: time.Hour, Lookup: func(context.Context, string) ([]netip.Addr, time.Duration, error) {
		lookups.Add(1)
		return []netip.Addr{ap.Addr()}, 0, nil
	}}
	before := lookups.Load()
	for range 3 {
		c, _, err := v.Dial(context.Background(), netip.AddrPort{}, "x.test", ap.Port(), time.Now().Add(time.Second))
		if err != nil {
			t.Fatal(err)
		}
		c.Close()
	}
	if n := lookups.Load() - before; n != 1 {
		t.Errorf("valid=: %d lookups, want 1", n)
	}
	z := &Dialer{Lookup: func(context.Context, string) ([]netip.Addr, time.Duration, error) {
		lookups.Add(1)
		return []netip.Addr{ap.Addr()}, 0, nil
	}}
	before = lookups.Load()
	for range 2 {
		c, _, _ := z.Dial(context.Background(), netip.AddrPort{}, "x.test", ap.Port(), time.Now().Add(time.Second))
		c.Close()
	}
	if n := lookups.Load() - before; n != 2 {
		t.Errorf("TTL 0: %d lookups, want 2", n)
	}

	// Without Lookup a name is refused.
	var none Dialer
	if _, _, err := none.Dial(context.Background(), netip.AddrPort{}, "imap.test", 143, time.Now().Add(time.Second)); err == nil || !strings.Contains(err.Error(), "proxy_resolve") {
		t.Errorf("no lookup: %v", err)
	}
}

func TestNameCacheBounded(t *testing.T) {
	var c nameCache
	for i := range maxNames + 100 {
		c.put("h"+strconv.Itoa(i)+".test", []netip.Addr{netip.MustParseAddr("127.0.0.1")}, time.Hour)
	}
	if len(c.m) > maxNames {
		t.Errorf("%d names kept, bound %d", len(c.m), maxNames)
	}
}

func TestHandshakeAndServerName(t *testing.T) {
	ca := pkitest.NewRoot(t, "Backend CA")
	cert := ca.Issue(pkitest.Spec{Server: true, Hosts: []string{"imap.test"}})
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert.TLS()}})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { c.(*tls.Conn).Handshake(); c.Close() }()
		}
	}()
	dial := func() net.Conn {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	if _, err := Handshake(dial(), &tls.Config{InsecureSkipVerify: true}, time.Now().Add(2*time.Second)); err != nil {
		t.Errorf("handshake: %v", err)
	}
	_, err = Handshake(dial(), &tls.Config{ServerName: "imap.test"}, time.Now().Add(2*time.Second))
	var te *TLSError
	if !errors.As(err, &te) || !strings.Contains(err.Error(), "backend TLS handshake failed") {
		t.Errorf("untrusted: %v", err)
	}
	for _, tc := range []struct{ answer, configured, host, addr, want string }{
		{"a.test", "b.test", "c.test", "127.0.0.1", "a.test"},
		{"", "b.test", "c.test", "127.0.0.1", "b.test"},
		{"", "", "c.test", "127.0.0.1", "c.test"},
		{"", "", "", "127.0.0.1", "127.0.0.1"},
	} {
		if got := ServerName(tc.answer, tc.configured, tc.host, tc.addr); got != tc.want {
			t.Errorf("ServerName%v = %s", tc, got)
		}
	}
}
