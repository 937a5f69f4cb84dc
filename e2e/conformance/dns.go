package conformance

import (
	"encoding/binary"
	"errors"
	"net"
	"strings"
	"sync"
)

// dnsServer is the scripted UDP DNS server of one case (README §4.6).
type dnsServer struct {
	pc    net.PacketConn
	table map[DNSKey]DNSAnswer
	wg    sync.WaitGroup
}

// startDNS serves table on pc until stop is called.
func startDNS(pc net.PacketConn, table map[DNSKey]DNSAnswer) *dnsServer {
	s := &dnsServer{pc: pc, table: table}
	s.wg.Add(1)
	go s.serve()
	return s
}

func (s *dnsServer) serve() {
	defer s.wg.Done()
	buf := make([]byte, 2048)
	for {
		n, addr, err := s.pc.ReadFrom(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		resp, err := DNSResponse(buf[:n], s.table)
		if err != nil {
			continue
		}
		_, _ = s.pc.WriteTo(resp, addr)
	}
}

// stop closes the socket and waits for the server goroutine.
func (s *dnsServer) stop() {
	_ = s.pc.Close()
	s.wg.Wait()
}

// DNSResponse builds the answer to one DNS query message from the table,
// as run_nginx.py's DnsServer does: the header echoes the id with flags
// QR|RD|RA and the table's rcode (NXDOMAIN for names not in the table),
// the first question is copied, and each value becomes one answer record
// (name pointer to the question, class IN, TTL 60). The query's name is
// looked up in lower case.
func DNSResponse(q []byte, table map[DNSKey]DNSAnswer) ([]byte, error) {
	if len(q) < 12 {
		return nil, errors.New("dns: short message")
	}
	if binary.BigEndian.Uint16(q[4:6]) == 0 {
		return nil, errors.New("dns: no question")
	}
	i := 12
	var labels []string
	for {
		if i >= len(q) {
			return nil, errors.New("dns: truncated name")
		}
		l := int(q[i])
		if l == 0 {
			break
		}
		if l > 63 || i+1+l > len(q) {
			return nil, errors.New("dns: bad label")
		}
		labels = append(labels, string(q[i+1:i+1+l]))
		i += 1 + l
	}
	i++
	if i+4 > len(q) {
		return nil, errors.New("dns: truncated question")
	}
	qtype := binary.BigEndian.Uint16(q[i : i+2])
	question := q[12 : i+4]
	name := strings.ToLower(strings.Join(labels, "."))

	ans, ok := table[DNSKey{Name: name, Type: qtype}]
	if !ok {
		ans = DNSAnswer{Rcode: 3}
	}
	var records []byte
	count := 0
	if ans.Rcode == 0 {
		for _, v := range ans.Values {
			var rdata []byte
			if qtype == TypePTR {
				rdata = encodeName(v)
			} else {
				ip := net.ParseIP(v).To4()
				if ip == nil {
					return nil, errors.New("dns: bad IPv4 in table: " + v)
				}
				rdata = ip
			}
			records = append(records, 0xc0, 0x0c)
			records = binary.BigEndian.AppendUint16(records, qtype)
			records = binary.BigEndian.AppendUint16(records, 1) // class IN
			records = binary.BigEndian.AppendUint32(records, 60)
			records = binary.BigEndian.AppendUint16(records, uint16(len(rdata)))
			records = append(records, rdata...)
			count++
		}
	}
	out := make([]byte, 0, 12+len(question)+len(records))
	out = append(out, q[0], q[1])
	out = binary.BigEndian.AppendUint16(out, 0x8180|uint16(ans.Rcode))
	out = binary.BigEndian.AppendUint16(out, 1)
	out = binary.BigEndian.AppendUint16(out, uint16(count))
	out = binary.BigEndian.AppendUint16(out, 0)
	out = binary.BigEndian.AppendUint16(out, 0)
	out = append(out, question...)
	out = append(out, records...)
	return out, nil
}

// encodeName writes a domain name in DNS wire form (uncompressed), keeping
// the case of its letters.
func encodeName(name string) []byte {
	var b []byte
	for _, l := range strings.Split(strings.TrimSuffix(name, "."), ".") {
		if l == "" {
			continue
		}
		b = append(b, byte(len(l)))
		b = append(b, l...)
	}
	return append(b, 0)
}
