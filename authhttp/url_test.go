package authhttp

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestParseIPv4(t *testing.T) {
	tests := []struct {
		in   string
		want string // "" = rejected
	}{
		{"127.0.0.1", "127.0.0.1"},
		{"0.0.0.0", "0.0.0.0"},
		{"127.000.000.001", "127.0.0.1"},
		{"1..2.3", "1.0.2.3"}, // nginx: an empty octet is 0
		{"...", "0.0.0.0"},
		{"255.255.255.254", "255.255.255.254"},
		{"255.255.255.255", ""}, // INADDR_NONE
		{"1.2.3", ""},
		{"1.2.3.4.", ""},
		{"1.2.3.256", ""},
		{"1.2.3.0256", ""},
		{"1.2.3.-4", ""},
		{" 1.2.3.4", ""},
		{"1.2.3.4 ", ""},
		{"", ""},
		{"0x1.2.3.4", ""},
	}
	for _, tt := range tests {
		v, ok := parseIPv4([]byte(tt.in))
		got := ""
		if ok {
			got = netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}).String()
		}
		if got != tt.want {
			t.Errorf("parseIPv4(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestParseIPv6(t *testing.T) {
	tests := []struct {
		in   string
		want string // "" = rejected
	}{
		{"::1", "::1"},
		{"::", "::"},
		{"1::", "1::"},
		{"2001:db8::5", "2001:db8::5"},
		{"2001:DB8:0:0:0:0:0:5", "2001:db8::5"},
		{"1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"},
		{"1:2:3:4:5:6:7::", ""}, // nginx: "::" must stand for at least one group
		{"::2:3:4:5:6:7:8", "0:2:3:4:5:6:7:8"},
		{"fe80::1:2", "fe80::1:2"},
		{"::ffff:192.0.2.1", "::ffff:192.0.2.1"},
		{"64:ff9b::1.2.3.4", "64:ff9b::102:304"},
		{"1:2:3:4:5:6:1.2.3.4", "1:2:3:4:5:6:102:304"},
		{":1::2", "1::2"}, // nginx skips one leading ':'
		{"1:2:3:4:5:6:7:8:9", ""},
		{"1:2:3:4:5:6:7", ""},
		{"1::2::3", ""},
		{":::", ""},
		{"12345::", ""},
		{"g::", ""},
		{"::1%eth0", ""},
		{"[::1]", ""},
		{"1.2.3.4", ""},
		{"::1.2.3", ""},
		{"1:2:3:4:5:6:7:1.2.3.4", ""},
		{"::255.255.255.255", ""},
		{"1:", ""},
		{"", ""},
		{":", ""},
	}
	for _, tt := range tests {
		a, ok := parseIPv6([]byte(tt.in))
		got := ""
		if ok {
			got = netip.AddrFrom16(a).String()
		}
		if got != tt.want {
			t.Errorf("parseIPv6(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func fakeLookup(ctx context.Context, network, host string) ([]netip.Addr, error) {
	switch host {
	case "auth.internal":
		return []netip.Addr{netip.MustParseAddr("::ffff:10.0.0.7"), netip.MustParseAddr("10.0.0.8")}, nil
	case "v6.internal":
		return []netip.Addr{netip.MustParseAddr("2001:db8::7")}, nil
	}
	return nil, errors.New("no such host")
}

// parseURL is ParseURL then the resolution NewClient does, with lookup.
func parseURL(raw string, lookup func(ctx context.Context, network, host string) ([]netip.Addr, error)) (target, error) {
	u, err := ParseURL(raw)
	if err != nil {
		return target{}, err
	}
	return u.resolve(lookup)
}

// mustURL is ParseURL for a URL the test knows to be good.
func mustURL(t testing.TB, raw string) URL {
	t.Helper()
	u, err := ParseURL(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestParseURL(t *testing.T) {
	tests := []struct {
		raw                   string
		network, address      string
		name, host, uri, fail string
		serverName            string
	}{
		{raw: "127.0.0.1:9000/auth", network: "tcp", address: "127.0.0.1:9000", name: "127.0.0.1:9000", host: "127.0.0.1", uri: "/auth"},
		{raw: "http://127.0.0.1:9000/auth", network: "tcp", address: "127.0.0.1:9000", name: "127.0.0.1:9000", host: "127.0.0.1", uri: "/auth"},
		{raw: "127.0.0.1", network: "tcp", address: "127.0.0.1:80", name: "127.0.0.1:80", host: "127.0.0.1", uri: "/"},
		{raw: "127.0.0.1/", network: "tcp", address: "127.0.0.1:80", name: "127.0.0.1:80", host: "127.0.0.1", uri: "/"},
		{raw: "127.0.0.1:9000?user=a&x=%20", network: "tcp", address: "127.0.0.1:9000", name: "127.0.0.1:9000", host: "127.0.0.1", uri: "?user=a&x=%20"},
		{raw: "127.0.0.1/a/b?c=d:e", network: "tcp", address: "127.0.0.1:80", name: "127.0.0.1:80", host: "127.0.0.1", uri: "/a/b?c=d:e"},
		{raw: "127.000.0.1:81/x", network: "tcp", address: "127.0.0.1:81", name: "127.0.0.1:81", host: "127.000.0.1", uri: "/x"},
		{raw: "1..2.3", network: "tcp", address: "1.0.2.3:80", name: "1.0.2.3:80", host: "1..2.3", uri: "/"},
		{raw: "auth.internal:8080/mail/auth", network: "tcp", address: "10.0.0.7:8080", name: "10.0.0.7:8080", host: "auth.internal", uri: "/mail/auth"},
		{raw: "v6.internal/a", network: "tcp", address: "[2001:db8::7]:80", name: "[2001:db8::7]:80", host: "v6.internal", uri: "/a"},
		{raw: "auth.internal/x://y", network: "tcp", address: "10.0.0.7:80", name: "10.0.0.7:80", host: "auth.internal", uri: "/x://y"},
		{raw: "[::1]:9000/auth", network: "tcp", address: "[::1]:9000", name: "[::1]:9000", host: "[::1]", uri: "/auth"},
		{raw: "[::1]/x", network: "tcp", address: "[::1]:80", name: "[::1]:80", host: "[::1]", uri: "/x"},
		{raw: "http://[2001:db8::1]", network: "tcp", address: "[2001:db8::1]:80", name: "[2001:db8::1]:80", host: "[2001:db8::1]", uri: "/"},
		{raw: "unix:/run/auth.sock", network: "unix", address: "/run/auth.sock", name: "unix:/run/auth.sock", host: "localhost", uri: "/"},
		{raw: "http://unix:/run/auth.sock:/auth?x", network: "unix", address: "/run/auth.sock", name: "unix:/run/auth.sock", host: "localhost", uri: "/auth?x"},
		{raw: "UNIX:/s:", network: "unix", address: "/s", name: "UNIX:/s", host: "localhost", uri: "/"},
		{raw: "unix:/x:uri", network: "unix", address: "/x", name: "unix:/x", host: "localhost", uri: "uri"}, // as nginx
		{raw: "unix://run/s", network: "unix", address: "//run/s", name: "unix://run/s", host: "localhost", uri: "/"},
		{raw: "https://127.0.0.1/auth", network: "tcp", address: "127.0.0.1:443", name: "127.0.0.1:443", host: "127.0.0.1", uri: "/auth", serverName: "127.0.0.1"},
		{raw: "https://auth.internal:8443", network: "tcp", address: "10.0.0.7:8443", name: "10.0.0.7:8443", host: "auth.internal", uri: "/", serverName: "auth.internal"},
		{raw: "https://[::1]/x", network: "tcp", address: "[::1]:443", name: "[::1]:443", host: "[::1]", uri: "/x", serverName: "::1"},
		{raw: "HTTPS://127.0.0.1/auth", fail: `the scheme must be written in lower case, "https://"`},
		{raw: "https://unix:/run/auth.sock", fail: "https:// cannot name a unix domain socket"},
		{raw: "http://https://x", fail: "only http:// and https:// are supported"},
		// nginx strips only a lower-case "http://" and then reads "HTTP"
		// as a host with an empty port.
		{raw: "HTTP://127.0.0.1/auth", fail: `the scheme must be written in lower case, "http://"`},
		{raw: "HTTP://[::1]/x", fail: `the scheme must be written in lower case, "http://"`},
		{raw: "ftp://x", fail: "only http:// and https:// are supported"},
		{raw: "http://ftp://x", fail: "only http:// and https:// are supported"},
		{raw: "127.0.0.1:0/auth", fail: "invalid port"},
		{raw: "127.0.0.1:65536", fail: "invalid port"},
		{raw: "127.0.0.1:/auth", fail: "invalid port"},
		{raw: "127.0.0.1:x", fail: "invalid port"},
		{raw: "host:http", fail: "invalid port"},
		{raw: ":9000/auth", fail: "no host"},
		{raw: "/auth", fail: "no host"},
		{raw: "", fail: "no host"},
		{raw: "http://", fail: "no host"},
		{raw: "::1/auth", fail: "IPv6 addresses must be written in brackets"},
		{raw: "::1:80", fail: "IPv6 addresses must be written in brackets"},
		{raw: "[::1/auth", fail: `missing "]" after the IPv6 address`},
		{raw: "[::1]x/auth", fail: `expected ":" after the IPv6 address`},
		{raw: "[::1]:/auth", fail: "invalid port"},
		{raw: "[]:80", fail: "no host"},
		{raw: "[::g]:80", fail: "invalid IPv6 address"},
		{raw: "[1.2.3.4]:80", fail: "invalid IPv6 address"},
		{raw: "ho$t", fail: "invalid host"},
		{raw: "a..b", fail: "invalid host"},
		{raw: "127.0.0.1/a b", fail: "contains white space or a control character"},
		{raw: "127.0.0.1/a\tb", fail: "contains white space or a control character"},
		{raw: "127.0.0.1/a\x7f", fail: "contains white space or a control character"},
		{raw: "unknown.invalid/auth", fail: "host not found"},
		{raw: "unix:", fail: "no path in the unix domain socket"},
		{raw: "unix::/auth", fail: "no path in the unix domain socket"},
		{raw: "unix:/" + strings.Repeat("a", 107), fail: "too long path in the unix domain socket"},
	}
	for _, tt := range tests {
		got, err := parseURL(tt.raw, fakeLookup)
		if tt.fail != "" {
			var ue *URLError
			if err == nil || !strings.Contains(err.Error(), tt.fail+` in auth_http "`+tt.raw+`"`) || !errors.As(err, &ue) || ue.URL != tt.raw {
				t.Errorf("parseURL(%q) = %+v, %v; want error %q", tt.raw, got, err, tt.fail)
			}
			continue
		}
		want := target{network: tt.network, address: tt.address, name: tt.name, host: tt.host, uri: tt.uri, serverName: tt.serverName}
		if err != nil || got != want {
			t.Errorf("parseURL(%q) = %+v, %v; want %+v", tt.raw, got, err, want)
			continue
		}
		u := mustURL(t, tt.raw)
		if u.String() != tt.raw || u.Network() != tt.network || u.Host() != tt.host || u.URI() != tt.uri || u.HTTPS() != (tt.serverName != "") {
			t.Errorf("ParseURL(%q) = %q %q %q %q", tt.raw, u.String(), u.Network(), u.Host(), u.URI())
		}
	}
	// the longest accepted socket path
	if _, err := parseURL("unix:/"+strings.Repeat("a", 106), fakeLookup); err != nil {
		t.Errorf("107-byte socket path: %v", err)
	}
	// Parsing does no I/O: a name is looked up by NewClient only.
	if _, err := ParseURL("unknown.invalid/auth"); err != nil {
		t.Errorf("ParseURL resolved the host: %v", err)
	}
}

func TestNewClient(t *testing.T) {
	c, err := NewClient(mustURL(t, "http://localhost:9000/auth"), 0, []Header{{"X-Key", "a b"}})
	if err != nil {
		t.Fatal(err)
	}
	if c.Host() != "localhost" || c.URI() != "/auth" || c.Timeout() != DefaultTimeout {
		t.Errorf("Host %q URI %q Timeout %v", c.Host(), c.URI(), c.Timeout())
	}
	if a := c.Addr(); a != "127.0.0.1:9000" && a != "[::1]:9000" {
		t.Errorf("Addr() = %q", a)
	}
	req := string(c.AppendRequest(nil, imapPlain))
	if !strings.HasPrefix(req, "GET /auth HTTP/1.0\r\nHost: localhost\r\nAuth-Method: plain\r\n") ||
		!strings.HasSuffix(req, "Client-IP: 127.0.0.1\r\nX-Key: a b\r\n\r\n") {
		t.Errorf("request %s", quoteLines([]byte(req)))
	}
	c, err = NewClient(mustURL(t, "127.0.0.1:1"), 5*time.Second, nil)
	if err != nil || c.Timeout() != 5*time.Second || c.Addr() != "127.0.0.1:1" {
		t.Errorf("NewClient: %v %+v", err, c)
	}
	for _, h := range []Header{{"", "v"}, {"X-A", "a\r\nX-B: b"}, {"X\nY", "v"}, {"X:Y", "v"}} {
		if _, err := NewClient(mustURL(t, "127.0.0.1"), time.Second, []Header{h}); err == nil {
			t.Errorf("header %q accepted", h)
		}
	}
	if _, err := NewClient(URL{}, time.Second, nil); err == nil {
		t.Error("the zero URL accepted")
	}
}
