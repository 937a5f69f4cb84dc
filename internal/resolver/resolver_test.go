package resolver

import (
	"context"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	ptr  = 12
	a4   = 1
	a6   = 28
	cnam = 5
)

func TestClientHost(t *testing.T) {
	table := map[qkey]answer{
		{"11.2.0.192.in-addr.arpa", ptr}: {values: []string{"h11.example.org"}},
		{"h11.example.org", a4}:          {values: []string{"10.9.9.9", "192.0.2.11"}},
		{"12.2.0.192.in-addr.arpa", ptr}: {rcode: 3},
		{"13.2.0.192.in-addr.arpa", ptr}: {rcode: 2},
		{"14.2.0.192.in-addr.arpa", ptr}: {values: []string{"h14.example.org"}},
		{"h14.example.org", a4}:          {values: []string{"10.0.0.1"}},
		{"15.2.0.192.in-addr.arpa", ptr}: {values: []string{"h15.example.org"}},
		{"h15.example.org", a4}:          {rcode: 3},
		{"16.2.0.192.in-addr.arpa", ptr}: {values: []string{"h16.example.org"}},
		{"h16.example.org", a4}:          {rcode: 2},
		{"17.2.0.192.in-addr.arpa", ptr}: {values: []string{"H17.Example.ORG"}},
		{"h17.example.org", a4}:          {values: []string{"192.0.2.17"}},
		{"18.2.0.192.in-addr.arpa", ptr}: {values: []string{"bad_name.example"}},
		{"bad_name.example", a4}:         {values: []string{"192.0.2.18"}},
		{"19.2.0.192.in-addr.arpa", ptr}: {values: []string{"evil\r\nX-Injected: 1.example"}},
		{"20.2.0.192.in-addr.arpa", ptr}: {}, // NOERROR, no records
		{"21.2.0.192.in-addr.arpa", ptr}: {values: []string{"alias.example.org"}},
		{"alias.example.org", a4}:        {cname: "real.example.org"},
		{"real.example.org", a4}:         {values: []string{"192.0.2.21"}},
		{"22.2.0.192.in-addr.arpa", ptr}: {tc: true, values: []string{"big.example.org"}},
		{"big.example.org", a4}:          {values: []string{"192.0.2.22"}},
		{"23.2.0.192.in-addr.arpa", ptr}: {bogus: true, values: []string{"h23.example.org"}},
		{"h23.example.org", a4}:          {values: []string{"192.0.2.23"}},
		{"24.2.0.192.in-addr.arpa", ptr}: {values: []string{`a\..b`}},
		{"25.2.0.192.in-addr.arpa", ptr}: {values: []string{""}},
		{"26.2.0.192.in-addr.arpa", ptr}: {rcode: 5},
	}
	dns := startDNS(t, table)
	r := New([]string{dns.addr}, true, false, 2*time.Second)
	cases := []struct {
		ip, host, err string
	}{
		{"192.0.2.11", "h11.example.org", ""},
		{"192.0.2.12", Unavailable, "192.0.2.12 could not be resolved (3: Host not found)"},
		{"192.0.2.13", TempUnavail, "192.0.2.13 could not be resolved (2: Server failure)"},
		{"192.0.2.14", Unavailable, ""},
		{"192.0.2.15", Unavailable, `"h15.example.org" could not be resolved (3: Host not found)`},
		{"192.0.2.16", TempUnavail, `"h16.example.org" could not be resolved (2: Server failure)`},
		{"192.0.2.17", "h17.example.org", ""},
		{"192.0.2.18", TempUnavail, `192.0.2.18 resolved to invalid host name "bad_name.example"`},
		{"192.0.2.19", TempUnavail, `192.0.2.19 resolved to invalid host name "evil\x0D\x0AX-Injected: 1.example"`},
		{"192.0.2.20", Unavailable, "192.0.2.20 could not be resolved (3: Host not found)"},
		{"192.0.2.21", "alias.example.org", ""},
		{"192.0.2.22", "big.example.org", ""},
		{"192.0.2.23", "h23.example.org", ""},
		{"192.0.2.24", Unavailable, `"a..b" could not be resolved (3: Host not found)`},
		{"192.0.2.25", TempUnavail, `192.0.2.25 resolved to invalid host name ""`},
		{"192.0.2.26", TempUnavail, "192.0.2.26 could not be resolved (5: Operation refused)"},
	}
	for _, c := range cases {
		t.Run(c.ip, func(t *testing.T) {
			host, err := r.ClientHost(context.Background(), netip.MustParseAddr(c.ip))
			if host != c.host {
				t.Errorf("host = %q, want %q", host, c.host)
			}
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != c.err {
				t.Errorf("err = %q, want %q", got, c.err)
			}
		})
	}
	asked, tcpN := dns.queries()
	if tcpN != 1 {
		t.Errorf("TCP queries = %d, want 1 (the truncated answer)", tcpN)
	}
	for _, k := range asked {
		if k.qtype == a6 {
			t.Errorf("AAAA query %q with ipv6=off", k.name)
		}
	}
}

func TestClientHostIPv6(t *testing.T) {
	addr := netip.MustParseAddr("2001:db8::1")
	rev := reverseName(addr)
	if rev != "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa" {
		t.Fatalf("reverse name %q", rev)
	}
	dns := startDNS(t, map[qkey]answer{
		{rev, ptr}:                {values: []string{"v6.example.org"}},
		{"v6.example.org", a6}:    {values: []string{"2001:db8::1"}},
		{"v6.example.org", a4}:    {rcode: 2},
		{"only4.example.org", a4}: {values: []string{"192.0.2.1"}},
	})
	r := New([]string{dns.addr}, true, true, 2*time.Second)
	host, err := r.ClientHost(context.Background(), addr)
	if host != "v6.example.org" || err != nil {
		t.Fatalf("got %q %v", host, err)
	}
	// ipv4 off, ipv6 on: only AAAA is asked.
	r6 := New([]string{dns.addr}, false, true, 2*time.Second)
	dns.queries()
	if host, _ := r6.ClientHost(context.Background(), addr); host != "v6.example.org" {
		t.Fatalf("ipv6-only host %q", host)
	}
	asked, _ := dns.queries()
	for _, k := range asked {
		if k.qtype == a4 {
			t.Fatalf("A query with ipv4=off")
		}
	}
}

func TestClientHostOffAndUnix(t *testing.T) {
	var r *Resolver
	if h, err := r.ClientHost(context.Background(), netip.MustParseAddr("192.0.2.1")); h != Unavailable || err != nil {
		t.Fatalf("resolver off: %q %v", h, err)
	}
	if New(nil, true, true, time.Second) != nil {
		t.Fatal("New without servers must be resolver off")
	}
	r = New([]string{"127.0.0.1:1"}, true, false, time.Second)
	if h, err := r.ClientHost(context.Background(), netip.Addr{}); h != TempUnavail || err != nil {
		t.Fatalf("no address: %q %v", h, err)
	}
}

// TestClientHostTimeout: a silent server costs exactly one timeout per
// lookup and gives [TEMPUNAVAIL] with nginx's timeout text.
func TestClientHostTimeout(t *testing.T) {
	dns := startDNS(t, map[qkey]answer{
		{"30.2.0.192.in-addr.arpa", ptr}: {silent: true},
		{"31.2.0.192.in-addr.arpa", ptr}: {values: []string{"slow.example.org"}},
		{"slow.example.org", a4}:         {silent: true},
	})
	r := New([]string{dns.addr}, true, false, 300*time.Millisecond)
	for _, ip := range []string{"192.0.2.30", "192.0.2.31"} {
		start := time.Now()
		host, err := r.ClientHost(context.Background(), netip.MustParseAddr(ip))
		d := time.Since(start)
		if host != TempUnavail || err == nil || !strings.Contains(err.Error(), "(110: Operation timed out)") {
			t.Fatalf("%s: %q %v", ip, host, err)
		}
		if d < 250*time.Millisecond || d > 2*time.Second {
			t.Fatalf("%s: took %v", ip, d)
		}
	}
}

// TestServerRotation: a server that refuses (ICMP) or stays silent is left
// after resendInterval for the next one.
func TestServerRotation(t *testing.T) {
	old := resendInterval
	resendInterval = 100 * time.Millisecond
	defer func() { resendInterval = old }()
	dns := startDNS(t, map[qkey]answer{
		{"11.2.0.192.in-addr.arpa", ptr}: {values: []string{"h11.example.org"}},
		{"h11.example.org", a4}:          {values: []string{"192.0.2.11"}},
	})
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := pc.LocalAddr().String()
	pc.Close()
	r := New([]string{dead, dns.addr}, true, false, 3*time.Second)
	for range 3 {
		host, err := r.ClientHost(context.Background(), netip.MustParseAddr("192.0.2.11"))
		if host != "h11.example.org" || err != nil {
			t.Fatalf("got %q %v", host, err)
		}
	}
}

func TestCancelledContext(t *testing.T) {
	dns := startDNS(t, map[qkey]answer{{"30.2.0.192.in-addr.arpa", ptr}: {silent: true}})
	r := New([]string{dns.addr}, true, false, 10*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	if host, _ := r.ClientHost(ctx, netip.MustParseAddr("192.0.2.30")); host != TempUnavail {
		t.Fatalf("host %q", host)
	}
	if time.Since(start) > 2*time.Second {
		t.Fatal("lookup outlived its context")
	}
}

func TestValidHostName(t *testing.T) {
	for _, s := range []string{"a", "mx-1.Example.ORG", "1.2.3", "a..b", "-"} {
		if !validHostName(s) {
			t.Errorf("%q refused", s)
		}
	}
	for _, s := range []string{"", "a_b", "a b", "a\r\nb", "ä", "a\x00", "a/b", "[x]"} {
		if validHostName(s) {
			t.Errorf("%q accepted", s)
		}
	}
}

// TestConcurrentLookupsShareOneQuery: lookups of the same address that
// overlap share one PTR query and one A query, and all get its answer,
// as nginx's waiting resolver contexts do; a later lookup asks again.
func TestConcurrentLookupsShareOneQuery(t *testing.T) {
	dns := startDNS(t, map[qkey]answer{
		{"40.2.0.192.in-addr.arpa", ptr}: {values: []string{"Shared.Example.org"}, delay: 300 * time.Millisecond},
		{"shared.example.org", a4}:       {values: []string{"192.0.2.40"}, delay: 100 * time.Millisecond},
	})
	r := New([]string{dns.addr}, true, false, 5*time.Second)
	var wg sync.WaitGroup
	hosts := make([]string, 20)
	for i := range hosts {
		wg.Go(func() {
			host, err := r.ClientHost(context.Background(), netip.MustParseAddr("192.0.2.40"))
			if err != nil {
				t.Error(err)
			}
			hosts[i] = host
		})
	}
	wg.Wait()
	for i, h := range hosts {
		if h != "shared.example.org" {
			t.Errorf("lookup %d: %q", i, h)
		}
	}
	asked, _ := dns.queries()
	if want := []qkey{{"40.2.0.192.in-addr.arpa", ptr}, {"shared.example.org", a4}}; !slices.Equal(asked, want) {
		t.Errorf("queries %v, want one of each %v", asked, want)
	}
	if host, _ := r.ClientHost(context.Background(), netip.MustParseAddr("192.0.2.40")); host != "shared.example.org" {
		t.Errorf("later lookup: %q", host)
	}
	if asked, _ := dns.queries(); len(asked) != 2 {
		t.Errorf("a later lookup asked %v, want a new PTR and A query", asked)
	}
	if len(r.flights) != 0 {
		t.Errorf("flights left: %v", r.flights)
	}
}

// TestSharedQueryOutlivesAWaiter: a lookup that gives up (its context
// ends) leaves the shared query to the others; the last one to give up
// cancels it.
func TestSharedQueryOutlivesAWaiter(t *testing.T) {
	dns := startDNS(t, map[qkey]answer{
		{"41.2.0.192.in-addr.arpa", ptr}: {values: []string{"h41.example.org"}, delay: 300 * time.Millisecond},
		{"h41.example.org", a4}:          {values: []string{"192.0.2.41"}},
	})
	r := New([]string{dns.addr}, true, false, 5*time.Second)
	short, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	done := make(chan string)
	go func() {
		host, _ := r.ClientHost(context.Background(), netip.MustParseAddr("192.0.2.41"))
		done <- host
	}()
	time.Sleep(20 * time.Millisecond)
	if host, _ := r.ClientHost(short, netip.MustParseAddr("192.0.2.41")); host != TempUnavail {
		t.Errorf("the lookup that gave up got %q", host)
	}
	if host := <-done; host != "h41.example.org" {
		t.Errorf("the other lookup got %q", host)
	}
	// Alone and giving up: the query is cancelled and forgotten.
	gone := startDNS(t, map[qkey]answer{{"42.2.0.192.in-addr.arpa", ptr}: {silent: true}})
	r = New([]string{gone.addr}, true, false, 5*time.Second)
	ctx, cancel2 := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel2()
	r.ClientHost(ctx, netip.MustParseAddr("192.0.2.42"))
	r.mu.Lock()
	n := len(r.flights)
	r.mu.Unlock()
	if n != 0 {
		t.Errorf("%d flights left after the only waiter gave up", n)
	}
}

// TestServersAskedInOrder: the first lookup asks the first server listed,
// the next one the second, as nginx rotates its resolvers.
func TestServersAskedInOrder(t *testing.T) {
	table := map[qkey]answer{
		{"50.2.0.192.in-addr.arpa", ptr}: {values: []string{"h50.example.org"}},
		{"h50.example.org", a4}:          {values: []string{"192.0.2.50"}},
	}
	first, second := startDNS(t, table), startDNS(t, table)
	r := New([]string{first.addr, second.addr}, true, false, 5*time.Second)
	host, err := r.ClientHost(context.Background(), netip.MustParseAddr("192.0.2.50"))
	if host != "h50.example.org" || err != nil {
		t.Fatalf("%q %v", host, err)
	}
	a1, _ := first.queries()
	a2, _ := second.queries()
	// The PTR query starts the rotation at the first server, the A query
	// at the second.
	if want := []qkey{{"50.2.0.192.in-addr.arpa", ptr}}; !slices.Equal(a1, want) {
		t.Errorf("first server asked %v, want %v", a1, want)
	}
	if want := []qkey{{"h50.example.org", a4}}; !slices.Equal(a2, want) {
		t.Errorf("second server asked %v, want %v", a2, want)
	}
}
