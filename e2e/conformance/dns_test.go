package conformance

import (
	"bytes"
	"context"
	"errors"
	"net"
	"reflect"
	"testing"
	"time"
)

// query builds a DNS query message with one question.
func query(id uint16, name string, qtype uint16) []byte {
	q := []byte{byte(id >> 8), byte(id), 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0}
	q = append(q, encodeName(name)...)
	return append(q, byte(qtype>>8), byte(qtype), 0, 1)
}

var testTable = map[DNSKey]DNSAnswer{
	{"17.2.0.192.in-addr.arpa", TypePTR}: {Values: []string{"H17.Example.ORG"}},
	{"12.2.0.192.in-addr.arpa", TypePTR}: {Rcode: 3},
	{"13.2.0.192.in-addr.arpa", TypePTR}: {Rcode: 2},
	{"h17.example.org", TypeA}:           {Values: []string{"192.0.2.17", "10.0.0.1"}},
}

func TestDNSResponseBytes(t *testing.T) {
	q := query(0xbeef, "17.2.0.192.IN-ADDR.arpa", TypePTR)
	got, err := DNSResponse(q, testTable)
	if err != nil {
		t.Fatal(err)
	}
	want := []byte{0xbe, 0xef, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0}
	want = append(want, q[12:]...)
	want = append(want, 0xc0, 0x0c, 0, 12, 0, 1, 0, 0, 0, 60, 0, 17)
	want = append(want, "\x03H17\x07Example\x03ORG\x00"...)
	if !bytes.Equal(got, want) {
		t.Errorf("PTR:\n got %x\nwant %x", got, want)
	}

	q = query(7, "h17.example.org", TypeA)
	got, _ = DNSResponse(q, testTable)
	want = append([]byte{0, 7, 0x81, 0x80, 0, 1, 0, 2, 0, 0, 0, 0}, q[12:]...)
	want = append(want, 0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 17)
	want = append(want, 0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10, 0, 0, 1)
	if !bytes.Equal(got, want) {
		t.Errorf("A:\n got %x\nwant %x", got, want)
	}

	for _, tc := range []struct {
		name  string
		qtype uint16
		flags uint16
	}{
		{"12.2.0.192.in-addr.arpa", TypePTR, 0x8183},
		{"13.2.0.192.in-addr.arpa", TypePTR, 0x8182},
		{"unknown.example", TypeA, 0x8183},
		{"h17.example.org", 28, 0x8183}, // AAAA: not in the table
	} {
		q := query(1, tc.name, tc.qtype)
		got, err := DNSResponse(q, testTable)
		if err != nil {
			t.Fatal(err)
		}
		want := append([]byte{0, 1, byte(tc.flags >> 8), byte(tc.flags), 0, 1, 0, 0, 0, 0, 0, 0}, q[12:]...)
		if !bytes.Equal(got, want) {
			t.Errorf("%s/%d:\n got %x\nwant %x", tc.name, tc.qtype, got, want)
		}
	}

	for _, bad := range [][]byte{nil, make([]byte, 11), query(1, "a", 1)[:14], {0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0}} {
		if _, err := DNSResponse(bad, testTable); err == nil {
			t.Errorf("%x: no error", bad)
		}
	}
}

// TestDNSServerWithGoResolver checks the server with Go's own DNS client.
func TestDNSServerWithGoResolver(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := startDNS(pc, testTable)
	defer srv.stop()
	r := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "udp", pc.LocalAddr().String())
	}}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	names, err := r.LookupAddr(ctx, "192.0.2.17")
	if err != nil || !reflect.DeepEqual(names, []string{"H17.Example.ORG."}) {
		t.Errorf("LookupAddr = %q, %v", names, err)
	}
	ips, err := r.LookupIP(ctx, "ip4", "H17.example.ORG")
	if err != nil || len(ips) != 2 || !ips[0].Equal(net.IPv4(192, 0, 2, 17)) || !ips[1].Equal(net.IPv4(10, 0, 0, 1)) {
		t.Errorf("LookupIP = %v, %v", ips, err)
	}
	_, err = r.LookupAddr(ctx, "192.0.2.12")
	var de *net.DNSError
	if !errors.As(err, &de) || !de.IsNotFound {
		t.Errorf("NXDOMAIN: %v", err)
	}
	_, err = r.LookupAddr(ctx, "192.0.2.13")
	if !errors.As(err, &de) || de.IsNotFound {
		t.Errorf("SERVFAIL: %v", err)
	}
}
