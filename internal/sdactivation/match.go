package sdactivation

import (
	"net"
	"net/netip"
	"slices"
	"strconv"
)

// ByAddress takes from inherited the listener that serves the configured
// listen address and returns it with its name; ok is false when none
// does. The listener is removed from the map (a name left without
// listeners is deleted), so after every listen entry has been looked up,
// what remains in inherited is what the configuration does not use.
// Names are searched in sorted order and each name's listeners in
// descriptor order, so the result is deterministic.
//
// address takes the forms of mailproxy's listen entries after parsing
// (net.Listen's "host:port"): "IP:PORT", "[IPv6]:PORT", ":PORT" or
// "*:PORT". See Matches for the rule.
func ByAddress(inherited map[string][]net.Listener, address string) (ln net.Listener, name string, ok bool) {
	names := make([]string, 0, len(inherited))
	for n := range inherited {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		lns := inherited[n]
		for i, l := range lns {
			if !Matches(l.Addr(), address) {
				continue
			}
			if rest := slices.Delete(lns, i, i+1); len(rest) > 0 {
				inherited[n] = rest
			} else {
				delete(inherited, n)
			}
			return l, n, true
		}
	}
	return nil, "", false
}

// Matches reports whether a TCP socket bound to addr (a listener's Addr)
// serves the listen address:
//   - "IP:PORT" and "[IPv6]:PORT" need the same IP and port; an IPv4
//     address and its IPv4-mapped IPv6 form are the same.
//   - A wildcard entry, ":PORT", "*:PORT", "0.0.0.0:PORT" or "[::]:PORT",
//     accepts a socket on that port bound to either wildcard, 0.0.0.0 or
//     [::]. That is how mailproxy binds such an entry itself: Go's
//     net.Listen("tcp", …) makes one dual-stack [::] socket for each of
//     them, and systemd's ListenStream=143 does the same
//     (BindIPv6Only=default).
//
// Anything else (a unix socket, a host name, a malformed address) never
// matches.
func Matches(addr net.Addr, address string) bool {
	tcp, ok := addr.(*net.TCPAddr)
	if !ok {
		return false
	}
	ap := tcp.AddrPort() // an IPv4 socket's address comes IPv4-mapped
	got := netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	host, portText, err := net.SplitHostPort(address)
	if err != nil {
		return false
	}
	port, err := strconv.ParseUint(portText, 10, 16)
	if err != nil || uint16(port) != got.Port() {
		return false
	}
	if host == "" || host == "*" {
		return got.Addr().IsUnspecified()
	}
	want, err := netip.ParseAddr(host)
	if err != nil {
		return false
	}
	if want = want.Unmap(); want.IsUnspecified() {
		return got.Addr().IsUnspecified()
	}
	return want == got.Addr()
}
