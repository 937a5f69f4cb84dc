package resolver

import (
	"encoding/binary"
	"io"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"
)

// answer is the scripted reply to one (name, type) question.
type answer struct {
	rcode  int
	values []string // PTR/CNAME targets (case kept) or IP addresses
	cname  string   // a CNAME record put before the values
	silent bool     // never answer
	tc     bool     // answer over UDP with TC set and no records; full answer over TCP
	bogus  bool     // first send an answer with a wrong id
	delay  time.Duration
	ttl    uint32 // the records' TTL; 0 means 60
}

type qkey struct {
	name  string
	qtype uint16
}

// fakeDNS is a loopback DNS server written for the tests: it shares no
// code with the client so that both sides are checked independently.
type fakeDNS struct {
	addr  string
	table map[qkey]answer
	mu    sync.Mutex
	asked []qkey
	tcpN  int
}

func startDNS(t *testing.T, table map[qkey]answer) *fakeDNS {
	t.Helper()
	// The UDP and TCP sockets share one port number; the TCP port can be
	// taken by an unrelated connection's ephemeral port, so try a few.
	var (
		pc  net.PacketConn
		ln  net.Listener
		err error
	)
	for range 20 {
		pc, err = net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ln, err = net.Listen("tcp", pc.LocalAddr().String())
		if err == nil {
			break
		}
		pc.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeDNS{addr: pc.LocalAddr().String(), table: table}
	t.Cleanup(func() { pc.Close(); ln.Close() })
	go f.serveUDP(pc)
	go f.serveTCP(ln)
	return f
}

func (f *fakeDNS) serveUDP(pc net.PacketConn) {
	buf := make([]byte, 2048)
	for {
		n, from, err := pc.ReadFrom(buf)
		if err != nil {
			return
		}
		q := append([]byte(nil), buf[:n]...)
		k, ok := questionOf(q)
		if !ok {
			continue
		}
		f.mu.Lock()
		f.asked = append(f.asked, k)
		f.mu.Unlock()
		a := f.lookup(k)
		if a.silent {
			continue
		}
		if a.bogus {
			wrong := reply(q, answer{rcode: 0, values: []string{"6.6.6.6"}}, k.qtype, false)
			wrong[0] ^= 0xff
			pc.WriteTo(wrong, from)
		}
		if a.delay > 0 {
			go func() {
				time.Sleep(a.delay)
				pc.WriteTo(reply(q, a, k.qtype, a.tc), from)
			}()
			continue
		}
		pc.WriteTo(reply(q, a, k.qtype, a.tc), from)
	}
}

func (f *fakeDNS) serveTCP(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			var hdr [2]byte
			if _, err := io.ReadFull(c, hdr[:]); err != nil {
				return
			}
			q := make([]byte, binary.BigEndian.Uint16(hdr[:]))
			if _, err := io.ReadFull(c, q); err != nil {
				return
			}
			k, ok := questionOf(q)
			if !ok {
				return
			}
			f.mu.Lock()
			f.tcpN++
			f.mu.Unlock()
			r := reply(q, f.lookup(k), k.qtype, false)
			c.Write(append(binary.BigEndian.AppendUint16(nil, uint16(len(r))), r...))
		}()
	}
}

// queries returns and forgets the UDP questions seen so far, and the
// number of TCP queries.
func (f *fakeDNS) queries() ([]qkey, int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	a := f.asked
	f.asked = nil
	return a, f.tcpN
}

func (f *fakeDNS) lookup(k qkey) answer {
	a, ok := f.table[qkey{strings.ToLower(k.name), k.qtype}]
	if !ok {
		return answer{rcode: 3}
	}
	return a
}

// questionOf reads the first question of a query.
func questionOf(q []byte) (qkey, bool) {
	if len(q) < 12 {
		return qkey{}, false
	}
	var labels []string
	i := 12
	for i < len(q) && q[i] != 0 {
		l := int(q[i])
		if i+1+l > len(q) {
			return qkey{}, false
		}
		labels = append(labels, string(q[i+1:i+1+l]))
		i += 1 + l
	}
	if i+5 > len(q) {
		return qkey{}, false
	}
	return qkey{strings.Join(labels, "."), binary.BigEndian.Uint16(q[i+1:])}, true
}

// reply builds the answer: the question copied, then the records, each
// owner name a pointer to the question (offset 12).
func reply(q []byte, a answer, qtype uint16, truncated bool) []byte {
	end := 12
	for q[end] != 0 {
		end += 1 + int(q[end])
	}
	question := q[12 : end+5]
	var recs [][]byte
	if a.rcode == 0 && !truncated {
		ttl := a.ttl
		if ttl == 0 {
			ttl = 60
		}
		rr := func(typ uint16, rdata []byte) []byte {
			b := []byte{0xc0, 0x0c}
			b = binary.BigEndian.AppendUint16(b, typ)
			b = binary.BigEndian.AppendUint16(b, 1)
			b = binary.BigEndian.AppendUint32(b, ttl)
			b = binary.BigEndian.AppendUint16(b, uint16(len(rdata)))
			return append(b, rdata...)
		}
		if a.cname != "" {
			recs = append(recs, rr(5, wireName(a.cname)))
		}
		for _, v := range a.values {
			switch qtype {
			case 12:
				recs = append(recs, rr(12, wireName(v)))
			default:
				ip := netip.MustParseAddr(v)
				if ip.Is4() {
					b := ip.As4()
					recs = append(recs, rr(1, b[:]))
				} else {
					b := ip.As16()
					recs = append(recs, rr(28, b[:]))
				}
			}
		}
	}
	flags := uint16(0x8180) | uint16(a.rcode)
	if truncated {
		flags |= 0x0200
	}
	out := []byte{q[0], q[1]}
	out = binary.BigEndian.AppendUint16(out, flags)
	out = binary.BigEndian.AppendUint16(out, 1)
	out = binary.BigEndian.AppendUint16(out, uint16(len(recs)))
	out = append(out, 0, 0, 0, 0)
	out = append(out, question...)
	for _, r := range recs {
		out = append(out, r...)
	}
	return out
}

// wireName encodes a dotted name label by label, every byte kept; "\."
// is a dot inside a label.
func wireName(name string) []byte {
	var b []byte
	for _, l := range strings.Split(strings.ReplaceAll(name, `\.`, "\x01"), ".") {
		l = strings.ReplaceAll(l, "\x01", ".")
		if l == "" {
			continue
		}
		b = append(b, byte(len(l)))
		b = append(b, l...)
	}
	return append(b, 0)
}
