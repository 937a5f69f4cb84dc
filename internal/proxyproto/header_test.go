package proxyproto

import (
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestParseV1(t *testing.T) {
	good := []struct {
		in   string
		want Header
		n    int
	}{
		{"PROXY TCP4 192.0.2.1 192.0.2.2 123 5678\r\nrest", Header{1, true, "192.0.2.1", "192.0.2.2", 123, 5678}, 41},
		{"PROXY TCP6 2001:db8::1 2001:db8::2 1000 25\r\n", Header{1, true, "2001:db8::1", "2001:db8::2", 1000, 25}, 44},
		{"PROXY TCP6 ::FFFF:192.0.2.1 ::1 1 2\r\n", Header{1, true, "::FFFF:192.0.2.1", "::1", 1, 2}, 37},
		{"PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255 ::1 1 2\r\n", Header{1, true, "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255", "::1", 1, 2}, 66},
		{"PROXY UNKNOWN\r\n", Header{Version: 1}, 15},
		{"PROXY UNKNOWN ffff::1 ffff::2 1 2\r\nX", Header{Version: 1}, 35},
	}
	for _, c := range good {
		h, n, err := Parse([]byte(c.in))
		if err != nil || *h != c.want || n != c.n {
			t.Errorf("Parse(%q) = %+v, %d, %v", c.in, h, n, err)
		}
	}
	bad := []string{
		"PROXY TCP4 192.0.2.1 192.0.2.2 123 5678\n",
		"PROXY TCP4 192.0.2.x 192.0.2.2 123 5678\r\n",
		"PROXY TCP4 192.0.2.1 192.0.2.2 123 65536\r\n",
		"GET / HTTP/1.0\r\n",
		"PROXY TCP4 192.0.2.1 192.0.2.2 1",
		"PROXY TCP5 1 2 3 4\r\n",
		"PROXY ",
		"PROXY TCP4  192.0.2.2 1 2\r\n",
		// Addresses must be real ones of the declared family.
		"PROXY TCP4 " + strings.Repeat("a", 3000) + " 192.0.2.2 1 2\r\n",
		"PROXY TCP4 aaaa 192.0.2.2 1 2\r\n",
		"PROXY TCP4 2001:db8::1 192.0.2.2 1 2\r\n",
		"PROXY TCP4 192.0.2.1 2001:db8::1 1 2\r\n",
		"PROXY TCP4 192.0.2 192.0.2.2 1 2\r\n",
		"PROXY TCP4 192.0.2.256 192.0.2.2 1 2\r\n",
		"PROXY TCP4 ::ffff:192.0.2.1 192.0.2.2 1 2\r\n",
		"PROXY TCP4 ... 192.0.2.2 1 2\r\n",
		"PROXY TCP6 192.0.2.1 ::1 1 2\r\n",
		"PROXY TCP6 ::1 192.0.2.1 1 2\r\n",
		"PROXY TCP6 ::1::2 ::1 1 2\r\n",
		"PROXY TCP6 12345::1 ::1 1 2\r\n",
		"PROXY TCP6 : ::1 1 2\r\n",
		"PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.2555 ::1 1 2\r\n",
	}
	for _, in := range bad {
		if _, _, err := Parse([]byte(in)); !errors.Is(err, ErrBroken) {
			t.Errorf("Parse(%q) err = %v, want broken", in, err)
		}
	}
}

func TestParseV2(t *testing.T) {
	src := netip.MustParseAddrPort("192.0.2.1:123")
	dst := netip.MustParseAddrPort("192.0.2.2:5678")
	b := AppendV2(nil, src, dst)
	h, n, err := Parse(append(b, "tail"...))
	if err != nil || n != len(b) || *h != (Header{2, true, "192.0.2.1", "192.0.2.2", 123, 5678}) {
		t.Fatalf("v2 = %+v %d %v", h, n, err)
	}
	b6 := AppendV2(nil, netip.MustParseAddrPort("[2001:db8::1]:1"), dst)
	h, _, err = Parse(b6)
	if err != nil || h.SrcAddr != "2001:db8::1" || h.DstAddr != "::ffff:192.0.2.2" {
		t.Fatalf("v2 inet6 = %+v %v", h, err)
	}
	local := AppendV2(nil, netip.AddrPort{}, dst)
	if h, _, err := Parse(local); err != nil || h.HasAddrs {
		t.Fatalf("local = %+v %v", h, err)
	}
	// TLVs are skipped; a length beyond what arrived is too large.
	tlv := append([]byte(nil), b...)
	binary.BigEndian.PutUint16(tlv[14:16], 12+5)
	tlv = append(tlv, 0x02, 0, 2, 'h', 'i')
	if h, n, err := Parse(tlv); err != nil || n != len(tlv) || !h.HasAddrs {
		t.Fatalf("tlv = %+v %d %v", h, n, err)
	}
	if _, _, err := Parse(tlv[:len(tlv)-1]); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("short = %v", err)
	}
	bad := append([]byte(nil), b...)
	bad[12] = 0x31
	if _, _, err := Parse(bad); !errors.Is(err, ErrVersion) {
		t.Fatalf("version = %v", err)
	}
}

func TestAppendV1(t *testing.T) {
	got := string(AppendV1(nil, netip.MustParseAddrPort("192.0.2.1:123"), netip.MustParseAddrPort("127.0.0.1:8027")))
	if got != "PROXY TCP4 192.0.2.1 127.0.0.1 123 8027\r\n" {
		t.Fatalf("v1 = %q", got)
	}
	got = string(AppendV1(nil, netip.MustParseAddrPort("[2001:db8::1]:1000"), netip.MustParseAddrPort("127.0.0.1:25")))
	if got != "PROXY TCP6 2001:db8::1 127.0.0.1 1000 25\r\n" {
		t.Fatalf("v1 = %q", got)
	}
	if got := string(AppendV1(nil, netip.AddrPort{}, netip.AddrPort{})); got != "PROXY UNKNOWN\r\n" {
		t.Fatalf("v1 = %q", got)
	}
}

func TestReadKeepsFollowingBytes(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			return
		}
		defer c.Close()
		c.Write([]byte("PROXY TCP4 192.0.2.1 192.0.2.2 123 5678\r\na1 NOOP\r\n"))
		time.Sleep(time.Second)
	}()
	c, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	time.Sleep(50 * time.Millisecond)
	h, err := Read(c.(*net.TCPConn), time.Now().Add(2*time.Second))
	if err != nil || h.SrcAddr != "192.0.2.1" {
		t.Fatalf("Read = %+v %v", h, err)
	}
	buf := make([]byte, 64)
	n, _ := c.Read(buf)
	if string(buf[:n]) != "a1 NOOP\r\n" {
		t.Fatalf("rest = %q", buf[:n])
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("PROXY TCP4 192.0.2.1 192.0.2.2 123 5678\r\n"))
	f.Add([]byte("PROXY UNKNOWN\r\n"))
	f.Add(AppendV2(nil, netip.MustParseAddrPort("192.0.2.1:1"), netip.MustParseAddrPort("192.0.2.2:2")))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, n, err := Parse(b)
		if err == nil && (h == nil || n <= 0 || n > len(b)) {
			t.Fatalf("Parse(%q) = %+v, %d", b, h, n)
		}
	})
}
