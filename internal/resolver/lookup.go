package resolver

import (
	"context"
	"errors"
	"mailproxy/internal/evloop"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"
)

// maxCNAME bounds the CNAME chain a forward lookup follows.
const maxCNAME = 8

// reverseName is the PTR query name of a: d.c.b.a.in-addr.arpa for IPv4,
// the reversed nibbles under ip6.arpa for IPv6.
func reverseName(a netip.Addr) string {
	var b strings.Builder
	if a.Is4() {
		v := a.As4()
		for i := 3; i >= 0; i-- {
			b.WriteString(strconv.Itoa(int(v[i])))
			b.WriteByte('.')
		}
		b.WriteString("in-addr.arpa")
		return b.String()
	}
	const hex = "0123456789abcdef"
	v := a.As16()
	for i := 15; i >= 0; i-- {
		b.WriteByte(hex[v[i]&0x0f])
		b.WriteByte('.')
		b.WriteByte(hex[v[i]>>4])
		b.WriteByte('.')
	}
	b.WriteString("ip6.arpa")
	return b.String()
}

// lookupErr turns an exchange failure into nginx's resolver state: a name
// that cannot be queried is NXDOMAIN (nginx declines to build the query
// and reports NXDOMAIN), no answer in time is a timeout.
func lookupErr(err error) *Error {
	if errors.Is(err, errBadName) {
		return &Error{Code: rcodeNXDomain}
	}
	return &Error{Code: codeTimedOut}
}

// lookupPTR returns the name of the first PTR record for addr (case kept),
// bounded by the resolver's timeout. An empty answer is NXDOMAIN; an
// answer without a PTR record is a failure nginx would only see as a
// timeout.
func (r *Resolver) lookupPTR(ctx context.Context, addr netip.Addr) (string, *Error) {
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	m, err := r.exchange(ctx, reverseName(addr), typePTR)
	if err != nil {
		return "", lookupErr(err)
	}
	if rc := m.rcode(); rc != 0 {
		return "", &Error{Code: rc}
	}
	if len(m.answer) == 0 {
		return "", &Error{Code: rcodeNXDomain}
	}
	for _, rr := range m.answer {
		if rr.class == classIN && rr.typ == typePTR {
			return rr.target, nil
		}
	}
	return "", &Error{Detail: "no PTR type in DNS response"}
}

// lookupAddrs returns the addresses of name: A and/or AAAA as configured,
// asked in parallel, all within one timeout. It fails only when no query
// produced an address; the failure is NXDOMAIN only if every query said
// so.
func (r *Resolver) lookupAddrs(ctx context.Context, name string) ([]netip.Addr, *Error) {
	addrs, _, err := r.lookupAddrsTTL(ctx, name)
	return addrs, err
}

// lookupAddrsTTL is lookupAddrs that also returns the smallest TTL of
// the records that gave the addresses (CNAME records included).
func (r *Resolver) lookupAddrsTTL(ctx context.Context, name string) ([]netip.Addr, time.Duration, *Error) {
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	var types []uint16
	if r.ipv4 {
		types = append(types, typeA)
	}
	if r.ipv6 {
		types = append(types, typeAAAA)
	}
	addrs := make([][]netip.Addr, len(types))
	ttls := make([]uint32, len(types))
	errs := make([]*Error, len(types))
	var wg sync.WaitGroup
	for i, t := range types {
		wg.Go(func() { addrs[i], ttls[i], errs[i] = r.lookupType(ctx, name, t) })
	}
	wg.Wait()
	var all []netip.Addr
	ttl := uint32(math.MaxUint32)
	for i, a := range addrs {
		all = append(all, a...)
		if len(a) > 0 {
			ttl = min(ttl, ttls[i])
		}
	}
	if len(all) > 0 {
		return all, time.Duration(ttl) * time.Second, nil
	}
	for _, e := range errs {
		if e != nil && !e.nxdomain() {
			return nil, 0, e
		}
	}
	for _, e := range errs {
		if e != nil {
			return nil, 0, e
		}
	}
	return nil, 0, &Error{Code: rcodeNXDomain}
}

// LookupHost returns the addresses of name (A and/or AAAA records, as
// the resolver is configured; IPv4 first), the smallest TTL of the
// records that gave them, and nginx's kind of error: a *Error whose text
// names the name and the failure. It is bounded by the resolver's
// timeout and by ctx; nothing of the machine's resolver configuration
// (/etc/hosts, search lists) takes part.
func (r *Resolver) LookupHost(ctx context.Context, name string) ([]netip.Addr, time.Duration, error) {
	var addrs []netip.Addr
	var ttl time.Duration
	var err *Error
	evloop.Block(ctx, func() { addrs, ttl, err = r.lookupAddrsTTL(ctx, strings.TrimSuffix(name, ".")) })
	if err != nil {
		err.Subject = quote(name)
		return nil, 0, err
	}
	return addrs, ttl, nil
}

// lookupType resolves name to addresses of one type, following CNAME
// records that come without addresses; it also returns the smallest TTL
// of the records used.
func (r *Resolver) lookupType(ctx context.Context, name string, qtype uint16) ([]netip.Addr, uint32, *Error) {
	ttl := uint32(math.MaxUint32)
	for range maxCNAME {
		m, err := r.exchange(ctx, name, qtype)
		if err != nil {
			return nil, 0, lookupErr(err)
		}
		if rc := m.rcode(); rc != 0 {
			return nil, 0, &Error{Code: rc}
		}
		if len(m.answer) == 0 {
			return nil, 0, &Error{Code: rcodeNXDomain}
		}
		var out []netip.Addr
		cname := ""
		var cnameTTL uint32
		for _, rr := range m.answer {
			if rr.class != classIN {
				continue
			}
			switch {
			case rr.typ == typeA && qtype == typeA && len(rr.rdata) == 4:
				out = append(out, netip.AddrFrom4([4]byte(rr.rdata)))
				ttl = min(ttl, rr.ttl)
			case rr.typ == typeAAAA && qtype == typeAAAA && len(rr.rdata) == 16:
				out = append(out, netip.AddrFrom16([16]byte(rr.rdata)))
				ttl = min(ttl, rr.ttl)
			case rr.typ == typeCNAME:
				cname, cnameTTL = rr.target, rr.ttl
			}
		}
		if len(out) > 0 {
			return out, ttl, nil
		}
		if cname == "" {
			return nil, 0, &Error{Detail: "no address or CNAME in DNS response"}
		}
		ttl = min(ttl, cnameTTL)
		name = cname
	}
	return nil, 0, &Error{Detail: "CNAME chain too long"}
}
