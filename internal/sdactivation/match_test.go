package sdactivation

import (
	"net"
	"strconv"
	"testing"
)

func tcp(ip string, port int) *net.TCPAddr {
	return &net.TCPAddr{IP: net.ParseIP(ip), Port: port}
}

func TestMatches(t *testing.T) {
	for _, c := range []struct {
		addr    net.Addr
		address string
		want    bool
	}{
		{tcp("127.0.0.1", 143), "127.0.0.1:143", true},
		{tcp("127.0.0.1", 143), "127.0.0.1:993", false},
		{tcp("127.0.0.1", 143), "127.0.0.2:143", false},
		{tcp("127.0.0.1", 143), ":143", false}, // a wildcard entry needs a wildcard socket
		{tcp("0.0.0.0", 143), ":143", true},
		{tcp("0.0.0.0", 143), "*:143", true},
		{tcp("::", 143), ":143", true},
		{tcp("::", 143), "[::]:143", true},
		{tcp("::", 143), "0.0.0.0:143", true}, // Go binds 0.0.0.0 as dual-stack [::] too
		{tcp("0.0.0.0", 143), "[::]:143", true},
		{tcp("::1", 143), "[::]:143", false},
		{tcp("0.0.0.0", 143), "0.0.0.0:143", true},
		{tcp("::ffff:192.0.2.1", 25), "192.0.2.1:25", true},
		{tcp("192.0.2.1", 25), "[::ffff:192.0.2.1]:25", true},
		{tcp("2001:db8::1", 587), "[2001:db8::1]:587", true},
		{tcp("2001:db8::1", 587), "[2001:db8::2]:587", false},
		{&net.TCPAddr{IP: net.ParseIP("fe80::1"), Port: 143, Zone: "eth0"}, "[fe80::1%eth0]:143", true},
		{&net.TCPAddr{IP: net.ParseIP("fe80::1"), Port: 143, Zone: "eth0"}, "[fe80::1]:143", false},
		{tcp("127.0.0.1", 143), "143", false},             // not host:port
		{tcp("127.0.0.1", 143), "localhost:143", false},   // host names never match
		{tcp("127.0.0.1", 143), "127.0.0.1:imap", false},  // ports are numbers
		{tcp("127.0.0.1", 143), "127.0.0.1:65679", false}, // 143 + 65536
		{&net.UnixAddr{Name: "/run/x.sock", Net: "unix"}, ":143", false},
	} {
		if got := Matches(c.addr, c.address); got != c.want {
			t.Errorf("Matches(%v, %q) = %v, want %v", c.addr, c.address, got, c.want)
		}
	}
}

func listen(t *testing.T, network, address string) net.Listener {
	t.Helper()
	ln, err := net.Listen(network, address)
	if err != nil {
		t.Skipf("cannot listen on %s: %v", address, err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

func port(ln net.Listener) string {
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}

func TestByAddressTakesEachOnce(t *testing.T) {
	loop := listen(t, "tcp", "127.0.0.1:0")
	wild := listen(t, "tcp4", "0.0.0.0:0")
	wild6 := listen(t, "tcp6", "[::]:0")
	inherited := map[string][]net.Listener{
		"imap":  {loop, wild},
		"imaps": {wild6},
	}

	ln, name, ok := ByAddress(inherited, ":"+port(wild6))
	if !ok || ln != wild6 || name != "imaps" {
		t.Fatalf("wildcard [::]: got %v %q %v", ln, name, ok)
	}
	if _, still := inherited["imaps"]; still {
		t.Error("an emptied name stays in the map")
	}
	if _, _, ok := ByAddress(inherited, ":"+port(wild6)); ok {
		t.Error("the same socket was handed out twice")
	}

	ln, name, ok = ByAddress(inherited, "0.0.0.0:"+port(wild))
	if !ok || ln != wild || name != "imap" {
		t.Fatalf("0.0.0.0: got %v %q %v", ln, name, ok)
	}
	if _, _, ok := ByAddress(inherited, "127.0.0.2:"+port(loop)); ok {
		t.Error("another IP matched")
	}
	ln, _, ok = ByAddress(inherited, "127.0.0.1:"+port(loop))
	if !ok || ln != loop {
		t.Fatalf("127.0.0.1: got %v %v", ln, ok)
	}
	if len(inherited) != 0 {
		t.Errorf("left over: %v", inherited)
	}
}

func TestByAddressIsDeterministic(t *testing.T) {
	// An IPv4-only and an IPv6-only socket on one port both serve
	// ":PORT"; the order rule (names sorted, then descriptor order)
	// decides.
	a := listen(t, "tcp4", "0.0.0.0:0")
	b := listen(t, "tcp6", "[::]:"+port(a))
	for range 10 {
		inherited := map[string][]net.Listener{"z": {a}, "a": {b}}
		if ln, name, _ := ByAddress(inherited, ":"+port(a)); ln != b || name != "a" {
			t.Fatalf("got %v %q, want the listener named a", ln, name)
		}
	}
}

func TestClose(t *testing.T) {
	a, b := listen(t, "tcp", "127.0.0.1:0"), listen(t, "tcp", "127.0.0.1:0")
	b.Close() // already closed: not an error
	if err := Close(map[string][]net.Listener{"x": {a, b}}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Accept(); err == nil {
		t.Error("listener still open")
	}
}
