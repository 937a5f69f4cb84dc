// Package resolver computes the SMTP client host name the way nginx's mail
// module does (SPEC.md §6.2): a PTR lookup of the client address, a check
// of the returned name, and a forward lookup (A and/or AAAA) that must
// lead back to the client address.
//
// It is a small DNS client of its own (UDP with a TCP retry for truncated
// answers) so that NXDOMAIN and other failures are told apart exactly and
// nothing of the machine's resolver configuration (search lists,
// /etc/hosts) takes part.
package resolver

import (
	"context"
	"fmt"
	"mailproxy/internal/evloop"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The two host values that are not names (SPEC §6.2).
const (
	Unavailable = "[UNAVAILABLE]"
	TempUnavail = "[TEMPUNAVAIL]"
)

// Resolver is the `resolver` directive of one server. A nil *Resolver is
// `resolver off`.
type Resolver struct {
	servers []string // "IP:PORT"
	ipv4    bool
	ipv6    bool
	timeout time.Duration
	next    atomic.Uint32 // server rotation

	mu      sync.Mutex
	flights map[flightKey]*flight // queries in progress
}

// New returns a resolver asking servers ("IP:PORT", at least one), doing
// the forward lookups with A (ipv4) and/or AAAA (ipv6) queries — A alone
// when both are false — and bounding each lookup (the PTR one, then the
// forward one) by timeout. It returns nil when servers is empty.
func New(servers []string, ipv4, ipv6 bool, timeout time.Duration) *Resolver {
	if len(servers) == 0 {
		return nil
	}
	if !ipv4 && !ipv6 {
		ipv4 = true
	}
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	return &Resolver{servers: append([]string(nil), servers...), ipv4: ipv4, ipv6: ipv6, timeout: timeout}
}

// Error is a failed client host lookup. Its text is nginx's log message:
// `IP could not be resolved (N: TEXT)`, `"NAME" could not be resolved
// (N: TEXT)` or `IP resolved to invalid host name "NAME"`.
type Error struct {
	// Subject is what was looked up as nginx prints it: the client IP, or
	// the host name in double quotes.
	Subject string
	// Code is the DNS rcode, or 110 for a timeout (nginx's
	// NGX_RESOLVE_TIMEDOUT).
	Code int
	// Invalid reports a PTR name that failed the check; Name is that name
	// (escaped when printed).
	Invalid bool
	Name    string
	// Detail replaces the standard text for failures that are neither an
	// rcode nor a timeout.
	Detail string
}

func (e *Error) Error() string {
	switch {
	case e.Invalid:
		return e.Subject + " resolved to invalid host name " + quote(e.Name)
	case e.Detail != "":
		return e.Subject + " could not be resolved (" + e.Detail + ")"
	}
	return fmt.Sprintf("%s could not be resolved (%d: %s)", e.Subject, e.Code, strerror(e.Code))
}

// nxdomain reports whether the failure makes the host [UNAVAILABLE]
// rather than [TEMPUNAVAIL].
func (e *Error) nxdomain() bool { return e.Code == rcodeNXDomain && !e.Invalid && e.Detail == "" }

// strerror is ngx_resolver_strerror.
func strerror(code int) string {
	switch code {
	case 1:
		return "Format error"
	case 2:
		return "Server failure"
	case 3:
		return "Host not found"
	case 4:
		return "Unimplemented"
	case 5:
		return "Operation refused"
	case codeTimedOut:
		return "Operation timed out"
	}
	return "Unknown error"
}

const codeTimedOut = 110

// ClientHost returns the Client-Host / XCLIENT NAME= value for a client at
// addr (SPEC §6.2):
//
//   - resolver off (r is nil): [UNAVAILABLE];
//   - no IP address (a UNIX-socket client): [TEMPUNAVAIL];
//   - PTR lookup failed: [UNAVAILABLE] for NXDOMAIN (or no answer), else
//     [TEMPUNAVAIL];
//   - the PTR name is empty or has a byte outside A–Z a–z 0–9 - . :
//     [TEMPUNAVAIL] (CVE-2026-28753);
//   - forward lookup failed: [UNAVAILABLE] for NXDOMAIN, else
//     [TEMPUNAVAIL]; no returned address equals addr: [UNAVAILABLE];
//   - otherwise the PTR name in lower case.
//
// The returned host never contains bytes other than those listed above or
// the brackets of the two fixed values. err, a *Error, is only for the log
// line; the host is always usable. Each of the two lookups is bounded by
// the resolver's timeout and by ctx.
func (r *Resolver) ClientHost(ctx context.Context, addr netip.Addr) (host string, err error) {
	if r == nil {
		return Unavailable, nil
	}
	if !addr.IsValid() {
		return TempUnavail, nil
	}
	ip := addr.WithZone("").String()
	var name string
	var lerr *Error
	evloop.Block(ctx, func() { name, lerr = r.lookupPTR(ctx, addr) })
	if lerr != nil {
		lerr.Subject = ip
		if lerr.nxdomain() {
			return Unavailable, lerr
		}
		return TempUnavail, lerr
	}
	if !validHostName(name) {
		return TempUnavail, &Error{Subject: ip, Invalid: true, Name: name}
	}
	name = strings.ToLower(name)
	var addrs []netip.Addr
	evloop.Block(ctx, func() { addrs, lerr = r.lookupAddrs(ctx, name) })
	if lerr != nil {
		lerr.Subject = quote(name)
		if lerr.nxdomain() {
			return Unavailable, lerr
		}
		return TempUnavail, lerr
	}
	for _, a := range addrs {
		if a == addr.WithZone("") {
			return name, nil
		}
	}
	return Unavailable, nil
}

// validHostName is nginx's check of a PTR name (since 1.29.7): not empty,
// only ASCII letters, digits, '-' and '.'.
func validHostName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// quote puts s in double quotes for a log line, writing bytes outside
// printable ASCII, '"' and '\' as \xHH so that no DNS data can forge log
// lines.
func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			fmt.Fprintf(&b, `\x%02X`, c)
			continue
		}
		b.WriteByte(c)
	}
	b.WriteByte('"')
	return b.String()
}
