package nginxconf

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// listen translates `listen ADDRESS [ssl] [proxy_protocol] [backlog=N]
// [rcvbuf=SIZE] [sndbuf=SIZE] [bind] [ipv6only=on|off] [multipath]
// [so_keepalive=…]`. The address is kept as written (mailproxy reads
// nginx's forms and reports what it refuses); ssl and proxy_protocol are
// kept; the socket options are checked as nginx checks them and then
// noted as not honoured.
func (t *translator) listen(lv *level, d *Directive) {
	l := &listenItem{addr: item{text: d.Args[0].Text, pos: d.Pos}}
	var ignored []string
	for _, a := range d.Args[1:] {
		name, val, hasVal := strings.Cut(a.Text, "=")
		bad := ""
		switch {
		case a.Text == "ssl":
			l.ssl = true
		case a.Text == "proxy_protocol":
			l.proxyPro = true
		case a.Text == "bind":
			l.notes = append(l.notes, note{a.Pos, `"bind" dropped: mailproxy binds every listen address on a socket of its own anyway`})
		case a.Text == "multipath":
			ignored = append(ignored, a.Text)
		case hasVal && name == "backlog":
			if n, err := strconv.Atoi(val); err != nil || n <= 0 {
				bad = "invalid backlog %q"
			}
			ignored = append(ignored, a.Text)
		case hasVal && (name == "rcvbuf" || name == "sndbuf"):
			if !sizeRE.MatchString(val) {
				bad = "invalid " + name + " %q"
			}
			ignored = append(ignored, a.Text)
		case hasVal && name == "ipv6only":
			if val != "on" && val != "off" {
				bad = "invalid ipv6only flags %q"
			}
			l.ipv6only = val
			ignored = append(ignored, a.Text)
		case hasVal && name == "so_keepalive":
			if !keepaliveRE.MatchString(val) {
				bad = "invalid so_keepalive value: %q"
			}
			ignored = append(ignored, a.Text)
		default:
			t.ps.add(a.Pos, "invalid parameter %q", a.Text)
			continue
		}
		if bad != "" {
			t.ps.add(a.Pos, bad, val)
		}
	}
	if len(ignored) > 0 {
		l.notes = append(l.notes, note{d.Pos, sprintf("not honoured: %s (mailproxy keeps the system's socket defaults)", strings.Join(ignored, " "))})
	}
	lv.entry("listen", listenEntry, d.Pos)
	lv.listens = append(lv.listens, l)
}

var (
	// sizeRE is ngx_parse_size: digits with an optional k, m or g.
	sizeRE = regexp.MustCompile(`^[0-9]+[kKmMgG]?$`)
	// keepaliveRE is so_keepalive's on, off or [idle]:[intvl]:[cnt].
	keepaliveRE = regexp.MustCompile(`^(on|off|[0-9]*[a-z]*:[0-9]*[a-z]*:[0-9]*)$`)
	// wildcardRE matches nginx's wildcard listen forms: PORT, *:PORT,
	// 0.0.0.0:PORT and [::]:PORT.
	wildcardRE = regexp.MustCompile(`^(?:(\*|0\.0\.0\.0|\[::\]):)?([0-9]+)$`)
)

// wildcard returns the port and the address family (4 or 6) of a
// wildcard listen address, or 0 for any other address.
func wildcard(addr string) (port string, family int) {
	m := wildcardRE.FindStringSubmatch(addr)
	if m == nil {
		return "", 0
	}
	if m[1] == "[::]" {
		return m[2], 6
	}
	return m[2], 4
}

// wildcards reconciles nginx's wildcard listens with Go's: nginx's
// `listen 143` takes IPv4 only and `listen [::]:143` IPv6 only (ipv6only
// is on by default), while a Go wildcard socket takes both. A pair of
// them with the same port and parameters in one server becomes one
// "*:PORT" listen; a wildcard left alone gets a note.
func (t *translator) wildcards(srv *level) {
	for i, a := range srv.listens {
		port, fam := wildcard(a.addr.text)
		if fam == 0 || a.dropped {
			continue
		}
		merged := false
		for _, b := range srv.listens[i+1:] {
			bport, bfam := wildcard(b.addr.text)
			if b.dropped || bport != port || bfam == fam || bfam == 0 || b.ssl != a.ssl || b.proxyPro != a.proxyPro || a.ipv6only == "off" || b.ipv6only == "off" {
				continue
			}
			a.notes = append(a.notes, note{a.addr.pos, sprintf("\"listen %s\" and \"listen %s\" (%s) merged: mailproxy's \"*:%s\" takes IPv4 and IPv6 on one socket", a.addr.text, b.addr.text, t.show(b.addr.pos), port)})
			for _, n := range b.notes {
				if !slices.Contains(a.notes, n) {
					a.notes = append(a.notes, n)
				}
			}
			a.addr.text = "*:" + port
			b.dropped, merged = true, true
			break
		}
		switch {
		case merged:
		case fam == 4:
			a.notes = append(a.notes, note{a.addr.pos, sprintf("nginx's \"listen %s\" takes IPv4 only; mailproxy's takes IPv6 as well", a.addr.text)})
		case a.ipv6only != "off":
			a.notes = append(a.notes, note{a.addr.pos, sprintf("nginx's \"listen %s\" takes IPv6 only; mailproxy's takes IPv4 as well", a.addr.text)})
		}
	}
}
