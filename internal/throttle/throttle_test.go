package throttle_test

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"mailproxy/internal/kvstore"
	"mailproxy/internal/kvstore/kvstoretest"
	"mailproxy/internal/throttle"
)

// backend is one store under test with its clock: advance moves the
// limiter's clock and the store's expiry together (a real server's by
// sleeping).
type backend struct {
	name    string
	store   throttle.Store
	now     func() time.Time
	advance func(time.Duration)
	client  kvstore.Client // nil for Memory
	stop    func()
}

// backends returns Memory, miniredis and a real redis-server.
func backends(t *testing.T) []backend {
	var out []backend
	clock := time.Unix(1_700_000_000, 0)
	memNow := clock
	out = append(out, backend{name: "memory", store: &throttle.Memory{},
		now: func() time.Time { return memNow }, advance: func(d time.Duration) { memNow = memNow.Add(d) }})

	m, url := kvstoretest.Mini(t)
	mc, err := kvstore.Open(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	miniNow := clock
	out = append(out, backend{name: "mini", store: throttle.NewRedis(mc), client: mc,
		now:     func() time.Time { return miniNow },
		advance: func(d time.Duration) { miniNow = miniNow.Add(d); m.FastForward(d) },
		stop:    m.Close})

	srv := kvstoretest.Real(t)
	rc, err := kvstore.Open(srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	out = append(out, backend{name: "real", store: throttle.NewRedis(rc), client: rc,
		now: time.Now, advance: time.Sleep, stop: srv.Stop})
	t.Cleanup(func() {
		for _, b := range out {
			b.store.Close()
		}
	})
	return out
}

// limiter returns a limiter of cfg on b whose clock is b's.
func limiter(b backend, cfg throttle.Config) *throttle.Limiter {
	l := throttle.New(cfg, b.store)
	l.Now = b.now
	return l
}

var ctx = context.Background()

func addr(s string) netip.Addr { return netip.MustParseAddr(s) }

func mustCheck(t *testing.T, l *throttle.Limiter, a throttle.Attempt, want throttle.Rule) {
	t.Helper()
	got, err := l.Check(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Fatalf("Check(%v %q) = %v, want %v", a.Client, a.User, got, want)
	}
}

func fail(t *testing.T, l *throttle.Limiter, a throttle.Attempt) []throttle.Rule {
	t.Helper()
	r, err := l.Failed(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// The real server's clock is the wall's: its windows are short.
const unit = 300 * time.Millisecond

// TestBlockAfterFailures: the rule trips on its Nth failure within the
// window, blocks only its subject, and lifts after its block time, when
// counting starts afresh.
func TestBlockAfterFailures(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			l := limiter(b, throttle.Config{IP: throttle.Limit{Failures: 3, Window: 10 * unit, Block: 2 * unit}})
			bad := throttle.Attempt{Client: addr("192.0.2.1"), User: "u"}
			other := throttle.Attempt{Client: addr("192.0.2.2"), User: "u"}
			for i := 0; i < 2; i++ {
				if r := fail(t, l, bad); len(r) != 0 {
					t.Fatalf("failure %d started a block: %v", i+1, r)
				}
				mustCheck(t, l, bad, throttle.None)
			}
			if r := fail(t, l, bad); len(r) != 1 || r[0] != throttle.IP {
				t.Fatalf("the third failure started %v, want [ip]", r)
			}
			mustCheck(t, l, bad, throttle.IP)
			mustCheck(t, l, other, throttle.None)
			b.advance(2*unit + unit/2)
			mustCheck(t, l, bad, throttle.None)
			// The window was cleared when the block started.
			for i := 0; i < 2; i++ {
				fail(t, l, bad)
			}
			mustCheck(t, l, bad, throttle.None)
			fail(t, l, bad)
			mustCheck(t, l, bad, throttle.IP)
		})
	}
}

// TestSlidingWindow: failures older than the window stop counting one
// by one, not all at once.
func TestSlidingWindow(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			l := limiter(b, throttle.Config{User: throttle.Limit{Failures: 3, Window: 4 * unit, Block: 10 * unit}})
			a := throttle.Attempt{Client: addr("198.51.100.7"), User: "Alice"}
			fail(t, l, a) // t=0
			b.advance(2 * unit)
			fail(t, l, a) // t=2
			b.advance(2*unit + unit/2)
			// t=4.5: the first left the window, the second did not.
			fail(t, l, a)
			mustCheck(t, l, a, throttle.None)
			b.advance(unit)
			// t=5.5: within 4 units of t=2 and t=4.5.
			if r := fail(t, l, a); len(r) != 1 || r[0] != throttle.User {
				t.Fatalf("started %v, want [user]", r)
			}
			mustCheck(t, l, a, throttle.User)
			// The user rule follows the user to any address, in any case.
			mustCheck(t, l, throttle.Attempt{Client: addr("203.0.113.9"), User: "ALICE"}, throttle.User)
			mustCheck(t, l, throttle.Attempt{Client: addr("203.0.113.9"), User: "bob"}, throttle.None)
		})
	}
}

// TestSuccessClearsUserIP: a success clears the user_ip count only.
func TestSuccessClearsUserIP(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			l := limiter(b, throttle.Config{
				IP:     throttle.Limit{Failures: 4, Window: 20 * unit, Block: 20 * unit},
				UserIP: throttle.Limit{Failures: 2, Window: 20 * unit, Block: 20 * unit},
			})
			a := throttle.Attempt{Client: addr("192.0.2.9"), User: "carol"}
			fail(t, l, a)
			if err := l.Succeeded(ctx, a); err != nil {
				t.Fatal(err)
			}
			fail(t, l, a) // user_ip 1 again, ip 2
			mustCheck(t, l, a, throttle.None)
			r := fail(t, l, a) // user_ip 2: blocked; ip 3
			if len(r) != 1 || r[0] != throttle.UserIP {
				t.Fatalf("started %v, want [user_ip]", r)
			}
			mustCheck(t, l, a, throttle.UserIP)
			// ip was not cleared: one more failure of another user trips it.
			if r := fail(t, l, throttle.Attempt{Client: a.Client, User: "dave"}); len(r) != 1 || r[0] != throttle.IP {
				t.Fatalf("started %v, want [ip]", r)
			}
			mustCheck(t, l, throttle.Attempt{Client: a.Client, User: "erin"}, throttle.IP)
		})
	}
}

// TestIPv6Prefix: IPv6 addresses count by their prefix, IPv4 by the
// whole address (an IPv4-mapped one as IPv4).
func TestIPv6Prefix(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			l := limiter(b, throttle.Config{IP: throttle.Limit{Failures: 2, Window: 20 * unit, Block: 20 * unit}, IPv6Prefix: 56})
			fail(t, l, throttle.Attempt{Client: addr("2001:db8:0:1::1")})
			fail(t, l, throttle.Attempt{Client: addr("2001:db8:0:2::99")}) // same /56
			mustCheck(t, l, throttle.Attempt{Client: addr("2001:db8:0:ff::5")}, throttle.IP)
			mustCheck(t, l, throttle.Attempt{Client: addr("2001:db8:0:100::1")}, throttle.None)
			fail(t, l, throttle.Attempt{Client: addr("::ffff:192.0.2.1")})
			fail(t, l, throttle.Attempt{Client: addr("192.0.2.1")})
			mustCheck(t, l, throttle.Attempt{Client: addr("192.0.2.1")}, throttle.IP)
			mustCheck(t, l, throttle.Attempt{Client: addr("192.0.2.2")}, throttle.None)
		})
	}
	if got := throttle.AddressKey(addr("2001:db8:1:2:3:4:5:6"), 64); got != "2001:db8:1:2::/64" {
		t.Errorf("AddressKey = %q", got)
	}
}

// TestExempt: an exempt source counts by the address it forwards, else
// only under the user rule.
func TestExempt(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			lim := throttle.Limit{Failures: 2, Window: 20 * unit, Block: 20 * unit}
			l := limiter(b, throttle.Config{IP: lim, User: throttle.Limit{Failures: 3, Window: 20 * unit, Block: 20 * unit}, UserIP: lim,
				Exempt: []netip.Prefix{netip.MustParsePrefix("10.1.2.3/32")}})
			web := addr("10.1.2.3")
			fail(t, l, throttle.Attempt{Client: web, Forwarded: addr("192.0.2.50"), User: "a"})
			fail(t, l, throttle.Attempt{Client: web, Forwarded: addr("192.0.2.50"), User: "b"})
			// Blocked: the forwarded address, through the webmail or not.
			mustCheck(t, l, throttle.Attempt{Client: web, Forwarded: addr("192.0.2.50"), User: "c"}, throttle.IP)
			mustCheck(t, l, throttle.Attempt{Client: addr("192.0.2.50"), User: "c"}, throttle.IP)
			// Not the webmail itself, nor its other users.
			mustCheck(t, l, throttle.Attempt{Client: web, Forwarded: addr("192.0.2.51"), User: "c"}, throttle.None)
			mustCheck(t, l, throttle.Attempt{Client: web, User: "c"}, throttle.None)
			// Forwarding nothing: only the user rule applies.
			for i := 0; i < 5; i++ {
				fail(t, l, throttle.Attempt{Client: web, User: "user" + string(rune('0'+i))})
			}
			mustCheck(t, l, throttle.Attempt{Client: web, User: "c"}, throttle.None)
			es := l.Entries(throttle.Attempt{Client: web, User: "c"})
			if len(es) != 1 || es[0].Rule != throttle.User {
				t.Fatalf("entries of an exempt source without forwarding: %+v", es)
			}
			for i := 0; i < 3; i++ {
				fail(t, l, throttle.Attempt{Client: web, User: "c"})
			}
			mustCheck(t, l, throttle.Attempt{Client: web, User: "C"}, throttle.User)
			// A non-exempt client's forwarding is ignored.
			es = l.Entries(throttle.Attempt{Client: addr("192.0.2.77"), Forwarded: addr("192.0.2.78")})
			if len(es) != 1 || !strings.HasSuffix(es[0].Fail, ":192.0.2.77") {
				t.Fatalf("entries: %+v", es)
			}
		})
	}
}

// TestKeys: every key has the prefix; user names are lower-cased and
// escaped, so that no name can reach another's key or add a separator.
func TestKeys(t *testing.T) {
	l := throttle.New(throttle.Config{
		IP:     throttle.Limit{Failures: 1, Window: time.Second, Block: time.Second},
		User:   throttle.Limit{Failures: 1, Window: time.Second, Block: time.Second},
		UserIP: throttle.Limit{Failures: 1, Window: time.Second, Block: time.Second},
	}, &throttle.Memory{})
	es := l.Entries(throttle.Attempt{Client: addr("192.0.2.1"), User: "Bob:192.0.2.2\r\n{x}%"})
	want := []string{
		"mailproxy:throttle:fail:ip:192.0.2.1",
		"mailproxy:throttle:fail:user:bob%3A192.0.2.2%0D%0A%7Bx%7D%25",
		"mailproxy:throttle:fail:user_ip:bob%3A192.0.2.2%0D%0A%7Bx%7D%25:192.0.2.1",
	}
	if len(es) != 3 {
		t.Fatalf("entries: %+v", es)
	}
	for i, e := range es {
		if e.Fail != want[i] || e.Block != strings.Replace(want[i], ":fail:", ":block:", 1) {
			t.Errorf("entry %d: %q %q, want %q", i, e.Fail, e.Block, want[i])
		}
	}
	// "bob" at 192.0.2.2 and "bob:192.0.2.2" at any address never share a key.
	a := l.Entries(throttle.Attempt{Client: addr("192.0.2.2"), User: "bob"})
	b := l.Entries(throttle.Attempt{Client: addr("192.0.2.1"), User: "bob:192.0.2.2"})
	for _, x := range a {
		for _, y := range b {
			if x.Fail == y.Fail {
				t.Errorf("%q shared", x.Fail)
			}
		}
	}
	if throttle.EscapeUser("MiXeD@Example.ORG") != "mixed@example.org" {
		t.Errorf("EscapeUser does not lower-case")
	}
}

// FuzzEscapeUser: an escaped name uses only safe bytes and decodes back
// to the lower-cased name (so two names share a key only when equal
// without regard to case).
func FuzzEscapeUser(f *testing.F) {
	for _, s := range []string{"", "bob", "a:b", "%41", "\x00\xff", "Ünïcode", "{tag}"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e := throttle.EscapeUser(s)
		var dec []byte
		for i := 0; i < len(e); i++ {
			c := e[i]
			switch {
			case c == '%':
				if i+2 >= len(e) {
					t.Fatalf("%q: truncated escape in %q", s, e)
				}
				var v byte
				for _, h := range e[i+1 : i+3] {
					switch {
					case h >= '0' && h <= '9':
						v = v*16 + byte(h-'0')
					case h >= 'A' && h <= 'F':
						v = v*16 + byte(h-'A'+10)
					default:
						t.Fatalf("%q: bad escape in %q", s, e)
					}
				}
				dec = append(dec, v)
				i += 2
			case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '.', c == '_', c == '-', c == '@', c == '+':
				dec = append(dec, c)
			default:
				t.Fatalf("%q: byte %q in %q", s, c, e)
			}
		}
		if string(dec) != strings.ToLower(s) {
			t.Fatalf("%q: %q decodes to %q", s, e, dec)
		}
	})
}

// TestRedisKeysExpire: the failure set expires with its window and holds
// at most `failures` times; a block expires with its block time.
func TestRedisKeysExpire(t *testing.T) {
	srv := kvstoretest.Real(t)
	c, err := kvstore.Open(srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	l := throttle.New(throttle.Config{IP: throttle.Limit{Failures: 5, Window: time.Minute, Block: 2 * time.Minute}}, throttle.NewRedis(c))
	defer l.Close()
	a := throttle.Attempt{Client: addr("192.0.2.3")}
	es := l.Entries(a)
	for i := 0; i < 4; i++ {
		fail(t, l, a)
	}
	if n := c.ZCard(ctx, es[0].Fail).Val(); n != 4 {
		t.Errorf("%d failure times, want 4", n)
	}
	if d := c.PTTL(ctx, es[0].Fail).Val(); d <= 0 || d > time.Minute {
		t.Errorf("failure set TTL %v", d)
	}
	fail(t, l, a)
	if c.Exists(ctx, es[0].Fail).Val() != 0 {
		t.Error("the failure set outlived the block's start")
	}
	if d := c.PTTL(ctx, es[0].Block).Val(); d <= time.Minute || d > 2*time.Minute {
		t.Errorf("block TTL %v", d)
	}
	// A failure while blocked adds nothing.
	fail(t, l, a)
	if c.Exists(ctx, es[0].Fail).Val() != 0 {
		t.Error("a failure during the block was counted")
	}
}

// TestMemoryBounded: a key keeps at most `failures` times, and expired
// keys are dropped.
func TestMemoryBounded(t *testing.T) {
	m := &throttle.Memory{}
	now := time.Unix(1_700_000_000, 0)
	l := throttle.New(throttle.Config{IP: throttle.Limit{Failures: 3, Window: time.Minute, Block: time.Minute}}, m)
	l.Now = func() time.Time { return now }
	for i := 0; i < 1000; i++ {
		fail(t, l, throttle.Attempt{Client: netip.AddrFrom4([4]byte{192, 0, byte(i >> 8), byte(i)})})
	}
	if m.Len() != 1000 {
		t.Fatalf("%d keys, want 1000", m.Len())
	}
	now = now.Add(time.Minute + time.Second)
	fail(t, l, throttle.Attempt{Client: addr("198.51.100.1")})
	if m.Len() != 1 {
		t.Fatalf("%d keys after the window, want 1", m.Len())
	}
	// One address failing again and again, spaced beyond the block.
	for i := 0; i < 100; i++ {
		now = now.Add(2 * time.Minute)
		fail(t, l, throttle.Attempt{Client: addr("198.51.100.2")})
		fail(t, l, throttle.Attempt{Client: addr("198.51.100.2")})
	}
	if m.Len() > 2 {
		t.Fatalf("%d keys", m.Len())
	}
}

// TestStoreDown: with the store gone every operation fails, within the
// store timeout, and works again once the store is back.
func TestStoreDown(t *testing.T) {
	for _, b := range backends(t) {
		if b.client == nil {
			continue
		}
		t.Run(b.name, func(t *testing.T) {
			l := limiter(b, throttle.Config{IP: throttle.Limit{Failures: 2, Window: time.Minute, Block: time.Minute}})
			a := throttle.Attempt{Client: addr("192.0.2.4"), User: "x"}
			fail(t, l, a)
			b.stop()
			start := time.Now()
			if _, err := l.Check(ctx, a); err == nil {
				t.Fatal("Check with the store down did not fail")
			}
			if _, err := l.Failed(ctx, a); err == nil {
				t.Fatal("Failed with the store down did not fail")
			}
			if d := time.Since(start); d > 4*kvstore.DefaultTimeout {
				t.Errorf("two failing calls took %v", d)
			}
		})
	}
}

// TestStoreBack: a real server restarted is used again by itself.
func TestStoreBack(t *testing.T) {
	srv := kvstoretest.Real(t)
	c, err := kvstore.Open(srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	l := throttle.New(throttle.Config{IP: throttle.Limit{Failures: 1, Window: time.Minute, Block: time.Minute}}, throttle.NewRedis(c))
	defer l.Close()
	a := throttle.Attempt{Client: addr("192.0.2.5")}
	srv.Stop()
	if _, err := l.Check(ctx, a); err == nil {
		t.Fatal("no error with the server stopped")
	}
	srv.Start()
	var got error
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if _, got = l.Failed(ctx, a); got == nil {
			break
		}
	}
	if got != nil {
		t.Fatalf("the store did not come back: %v", got)
	}
	mustCheck(t, l, a, throttle.IP)
}

// TestStoreSlow: a store that accepts connections but never answers
// fails each call within the store timeout, not later.
func TestStoreSlow(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var held []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, c) // read nothing, answer nothing
			mu.Unlock()
		}
	}()
	defer func() {
		mu.Lock()
		for _, c := range held {
			c.Close()
		}
		mu.Unlock()
	}()
	c, err := kvstore.Open("redis://"+ln.Addr().String()+"/0", nil)
	if err != nil {
		t.Fatal(err)
	}
	lim := throttle.Limit{Failures: 2, Window: time.Minute, Block: time.Minute}
	l := throttle.New(throttle.Config{IP: lim, UserIP: lim}, throttle.NewRedis(c))
	defer l.Close()
	a := throttle.Attempt{Client: addr("192.0.2.6"), User: "x"}
	for _, call := range []func() error{
		func() error { _, err := l.Check(ctx, a); return err },
		func() error { _, err := l.Failed(ctx, a); return err },
		func() error { return l.Succeeded(ctx, a) },
	} {
		start := time.Now()
		err := call()
		d := time.Since(start)
		if err == nil {
			t.Fatal("a call to a store that never answers succeeded")
		}
		if d > 2*kvstore.DefaultTimeout {
			t.Errorf("a call took %v (timeout %v): %v", d, kvstore.DefaultTimeout, err)
		}
		t.Logf("failed after %v: %v", d.Round(time.Millisecond), err)
	}
}
