package main

import (
	"bufio"
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestBindAddr checks the source addresses of a -bind prefix, with and
// without -bind-count.
func TestBindAddr(t *testing.T) {
	p16 := netip.MustParsePrefix("127.1.0.0/16")
	p25 := netip.MustParsePrefix("127.2.0.0/25")
	for _, c := range []struct {
		p     netip.Prefix
		count int
		n     uint64
		want  string
	}{
		{p16, 0, 1, "127.1.0.1"},
		{p16, 0, 256, "127.1.1.0"},
		{p16, 0, 65535, "127.1.255.255"},
		{p16, 0, 65536, "127.1.0.0"}, // wraps to host 0
		{p16, 0, 65537, "127.1.0.1"},
		{p25, 0, 127, "127.2.0.127"},
		{p25, 0, 128, "127.2.0.0"},
		{p25, 100, 1, "127.2.0.1"},
		{p25, 100, 100, "127.2.0.100"},
		{p25, 100, 101, "127.2.0.1"},
		{p25, 100, 250, "127.2.0.50"},
		{p25, 127, 127, "127.2.0.127"},
		{p25, 127, 128, "127.2.0.1"},
	} {
		if got := bindAddr(c.p, c.count, c.n).String(); got != c.want {
			t.Errorf("bindAddr(%s, %d, %d) = %s, want %s", c.p, c.count, c.n, got, c.want)
		}
	}
	// Exactly count addresses, each as often.
	seen := map[netip.Addr]int{}
	for n := uint64(1); n <= 1000; n++ {
		seen[bindAddr(p25, 100, n)]++
	}
	if len(seen) != 100 {
		t.Errorf("%d addresses used, want 100", len(seen))
	}
	for a, k := range seen {
		if k != 10 || !p25.Contains(a) || a == p25.Addr() {
			t.Errorf("%s used %d times, want 10, inside %s and not its own address", a, k, p25)
		}
	}
}

// TestParseBind checks -bind and -bind-count, good and bad.
func TestParseBind(t *testing.T) {
	for _, c := range []struct {
		bind   string
		count  int
		prefix string // "" = no prefix
		err    string // "" = accepted
	}{
		{"", 0, "", ""},
		{"127.0.0.2", 0, "", ""},
		{"::1", 0, "", ""},
		{"127.1.0.0/16", 0, "127.1.0.0/16", ""},
		{"127.1.2.3/16", 0, "127.1.0.0/16", ""},
		{"127.2.0.0/25", 100, "127.2.0.0/25", ""},
		{"127.2.0.0/25", 127, "127.2.0.0/25", ""},
		{"127.2.0.0/25", 128, "", "has only 127 addresses"},
		{"127.2.0.0/32", 1, "", "has only 0 addresses"},
		{"127.2.0.0/25", -1, "", "negative"},
		{"127.0.0.2", 10, "", "needs an IPv4 prefix"},
		{"", 10, "", "needs an IPv4 prefix"},
		{"::/64", 0, "", "not an IP address or an IPv4 prefix"},
		{"localhost", 0, "", "not an IP address"},
	} {
		cfg := config{bind: c.bind, bindCount: c.count}
		err := cfg.parseBind()
		switch {
		case c.err == "" && err != nil:
			t.Errorf("-bind %q -bind-count %d: %v", c.bind, c.count, err)
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("-bind %q -bind-count %d: error %v, want one saying %q", c.bind, c.count, err, c.err)
		case c.err == "" && c.prefix != "" && cfg.bindPrefix.String() != c.prefix:
			t.Errorf("-bind %q: prefix %s, want %s", c.bind, cfg.bindPrefix, c.prefix)
		case c.err == "" && c.prefix == "" && cfg.bindPrefix.IsValid():
			t.Errorf("-bind %q: prefix %s, want none", c.bind, cfg.bindPrefix)
		}
	}
}

// TestFailUser checks the user names of -users.
func TestFailUser(t *testing.T) {
	if got := failUser(config{user: "bench"}, 7); got != "bench" {
		t.Errorf("without -users: %q", got)
	}
	cfg := config{user: "x", users: 3}
	var got []string
	for n := uint64(1); n <= 4; n++ {
		got = append(got, failUser(cfg, n))
	}
	if strings.Join(got, ",") != "x1,x2,x0,x1" {
		t.Errorf("-users 3: %v", got)
	}
}

// TestRefusals checks which replies to a login are refusals, per
// protocol: the fail mode counts those, and anything else as an error.
func TestRefusals(t *testing.T) {
	for _, c := range []struct {
		proto, reply string
		refused      bool
	}{
		{"imap", "m1 NO Invalid login or password\r\n", true},
		{"imap", "m1 NO [AUTHENTICATIONFAILED] x\r\n", true},
		{"imap", "m1 BAD syntax\r\n", false},
		{"imap", "* BYE bye\r\n", false}, // then EOF
		{"pop3", "+OK\r\n-ERR Invalid login or password\r\n", true},
		{"pop3", "-ERR no USER\r\n", true},
		{"pop3", "+OK\r\n+OK\r\n", false}, // accepted
		{"smtp", "250 ok\r\n535 5.7.0 Invalid login or password\r\n", true},
		{"smtp", "250 ok\r\n451 4.3.2 Internal server error\r\n", false},
		{"smtp", "250 ok\r\n235 2.0.0 OK\r\n", false}, // accepted
	} {
		client, srv := net.Pipe()
		go func() {
			r := bufio.NewReader(srv)
			for _, line := range strings.SplitAfter(c.reply, "\r\n") {
				if line == "" {
					break
				}
				if _, err := r.ReadString('\n'); err != nil {
					return
				}
				srv.Write([]byte(line))
			}
			srv.Close()
		}()
		s := &session{c: client, r: bufio.NewReader(client), timeout: 5 * time.Second}
		err := protocols[c.proto].login(s, "u", "p")
		var no refusal
		if got := errors.As(err, &no); got != c.refused {
			t.Errorf("%s %q: login error %v, refusal %v, want %v", c.proto, c.reply, err, got, c.refused)
		}
		client.Close()
	}
}

// TestRunFail runs the fail mode against an IMAP server that refuses
// every login but one user's, and checks the counts and the user names.
func TestRunFail(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var mu sync.Mutex
	users := map[string]int{}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.Write([]byte("* OK ready\r\n"))
				line, err := bufio.NewReader(c).ReadString('\n')
				if err != nil {
					return
				}
				f := strings.Fields(line) // m1 LOGIN "user" "pass"
				user := strings.Trim(f[2], `"`)
				mu.Lock()
				users[user]++
				mu.Unlock()
				if user == "guess3" {
					c.Write([]byte(f[0] + " OK in\r\n"))
					return
				}
				c.Write([]byte(f[0] + " NO Invalid login or password\r\n"))
			}()
		}
	}()
	failNext.Store(0)
	cfg := config{addr: ln.Addr().String(), user: "guess", pass: "wrong", users: 4, mode: "fail", client: imapClient{},
		concurrency: 1, duration: 10 * time.Second, timeout: 5 * time.Second, rate: 0}
	st := &stats{start: time.Now()}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for st.ok.Load()+st.errs.Load() < 40 {
			time.Sleep(time.Millisecond)
		}
		cancel()
	}()
	runFail(ctx, cfg, st)
	ok, failed, errs := st.ok.Load(), st.failed.Load(), st.errs.Load()
	if ok != failed || failed < 29 || errs < 9 || errs*3 > failed+3 {
		t.Errorf("ok=%d failed=%d errors=%d: want about 3 refusals to 1 accepted login", ok, failed, errs)
	}
	if st.errMsgs[errAccepted.Error()] != int(errs) {
		t.Errorf("errors %v, want only accepted logins", st.errMsgs)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(users) != 4 || users["guess0"] == 0 || users["guess3"] == 0 {
		t.Errorf("user names %v, want guess0 to guess3", users)
	}
	if len(st.lat) != int(failed) || len(st.sess) != int(failed) {
		t.Errorf("%d/%d latencies for %d refusals", len(st.lat), len(st.sess), failed)
	}
}
