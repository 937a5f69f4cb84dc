package smtp

import (
	"encoding/binary"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"mailproxy/authhttp"
	"mailproxy/internal/resolver"
	"mailproxy/internal/session"
)

// dnsRecord is the scripted answer to one question: rcode, and the PTR
// name or IPv4 addresses.
type dnsRecord struct {
	rcode  int
	values []string
	delay  time.Duration
}

// startDNS serves table (keys "name/TYPE", TYPE PTR or A) on a loopback
// UDP socket; unknown questions get NXDOMAIN.
func startDNS(t *testing.T, table map[string]dnsRecord) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			q := append([]byte(nil), buf[:n]...)
			i, labels := 12, []string{}
			for i < len(q) && q[i] != 0 {
				labels = append(labels, string(q[i+1:i+1+int(q[i])]))
				i += 1 + int(q[i])
			}
			qtype := binary.BigEndian.Uint16(q[i+1:])
			typ := map[uint16]string{1: "A", 12: "PTR", 28: "AAAA"}[qtype]
			rec, found := table[strings.ToLower(strings.Join(labels, "."))+"/"+typ]
			if !found {
				rec.rcode = 3
			}
			out := append([]byte{q[0], q[1]}, 0x81, 0x80|byte(rec.rcode), 0, 1, 0, 0, 0, 0, 0, 0)
			out = append(out, q[12:i+5]...)
			count := 0
			for _, v := range rec.values {
				var rdata []byte
				if qtype == 12 {
					for _, l := range strings.Split(v, ".") {
						rdata = append(append(rdata, byte(len(l))), l...)
					}
					rdata = append(rdata, 0)
				} else {
					a := netip.MustParseAddr(v).As4()
					rdata = a[:]
				}
				out = append(out, 0xc0, 12)
				out = binary.BigEndian.AppendUint16(out, qtype)
				out = append(out, 0, 1, 0, 0, 0, 60)
				out = binary.BigEndian.AppendUint16(out, uint16(len(rdata)))
				out = append(out, rdata...)
				count++
			}
			out[7] = byte(count)
			go func() {
				time.Sleep(rec.delay)
				pc.WriteTo(out, from)
			}()
		}
	}()
	return pc.LocalAddr().String()
}

func withClient(ip string) func(*session.Conn) {
	return func(sc *session.Conn) { sc.Client = netip.MustParseAddrPort(ip + ":1000") }
}

// TestClientHostLookup: the §6.2 value reaches the auth request and the
// login; failures are logged.
func TestClientHostLookup(t *testing.T) {
	dns := startDNS(t, map[string]dnsRecord{
		"11.2.0.192.in-addr.arpa/PTR": {values: []string{"H11.Example.ORG"}},
		"h11.example.org/A":           {values: []string{"192.0.2.11"}},
		"13.2.0.192.in-addr.arpa/PTR": {rcode: 2},
		"18.2.0.192.in-addr.arpa/PTR": {values: []string{"bad_name.example"}},
	})
	res := resolver.New([]string{dns}, true, false, 2*time.Second)
	cases := []struct{ ip, host, log string }{
		{"192.0.2.11", "h11.example.org", ""},
		{"192.0.2.12", "[UNAVAILABLE]", "192.0.2.12 could not be resolved (3: Host not found)"},
		{"192.0.2.13", "[TEMPUNAVAIL]", "192.0.2.13 could not be resolved (2: Server failure)"},
		{"192.0.2.18", "[TEMPUNAVAIL]", "192.0.2.18 resolved to invalid host name"},
	}
	for _, c := range cases {
		t.Run(c.ip, func(t *testing.T) {
			auth := &fakeAuth{Answers: []*authhttp.Response{ok("127.0.0.1:25")}}
			h := serve(t, Options{Resolver: res}, auth, withClient(c.ip))
			h.Play(greeting, "C: AUTH PLAIN AHUAcA==\r\n")
			l := loginOf(t, h)
			if l.ClientHost != c.host || auth.Requests()[0].ClientHost != c.host {
				t.Fatalf("host %q, request %q", l.ClientHost, auth.Requests()[0].ClientHost)
			}
			if c.log != "" && !strings.Contains(h.Log.String(), c.log) {
				t.Fatalf("log %s", h.Log.String())
			}
		})
	}
}

// TestClientHostNoAddress: with a resolver but no IP client address (a
// UNIX-socket client) the host is [TEMPUNAVAIL]; resolver off gives
// [UNAVAILABLE] whatever the address.
func TestClientHostNoAddress(t *testing.T) {
	res := resolver.New([]string{"127.0.0.1:1"}, true, false, time.Second)
	auth := &fakeAuth{Answers: []*authhttp.Response{ok("127.0.0.1:25")}}
	h := serve(t, Options{Resolver: res}, auth, func(sc *session.Conn) { sc.Client = netip.AddrPort{} })
	h.Play(greeting, "C: AUTH PLAIN AHUAcA==\r\n")
	if l := loginOf(t, h); l.ClientHost != "[TEMPUNAVAIL]" {
		t.Fatalf("host %q", l.ClientHost)
	}
}

// TestDNSBeforeGreeting: the greeting waits for the lookups and the client
// is not read meanwhile; with a greeting delay, bytes sent during the
// lookups count as talking first (SPEC §6.3).
func TestDNSBeforeGreeting(t *testing.T) {
	dns := startDNS(t, map[string]dnsRecord{
		"11.2.0.192.in-addr.arpa/PTR": {values: []string{"h11.example.org"}, delay: 300 * time.Millisecond},
		"h11.example.org/A":           {values: []string{"192.0.2.11"}},
	})
	res := resolver.New([]string{dns}, true, false, 2*time.Second)

	h := serve(t, Options{Resolver: res}, &fakeAuth{}, withClient("192.0.2.11"))
	start := time.Now()
	h.Play("C: NOOP\r\n", greeting, "S: 250 2.0.0 OK\r\n")
	if d := time.Since(start); d < 250*time.Millisecond {
		t.Fatalf("greeting before the lookups ended (%v)", d)
	}

	h = serve(t, Options{Resolver: res, GreetingDelay: 100 * time.Millisecond}, &fakeAuth{}, withClient("192.0.2.11"))
	h.Play("C: EHLO early\r\n", "S: 503 5.5.0 Improper use of SMTP command pipelining\r\n")
	h.Ended(session.ErrClosed)
}
