package proxy_test

import (
	"strings"
	"testing"
)

const ppYAML = `
servers:
  - protocol: imap
    auth_http: http://AUTH/auth
    listen:
      - {address: "127.0.0.1:0", proxy_protocol: true}
      - "[::1]:0"
    set_real_ip_from: [TRUST]
`

func failAuth(string) string { return "HTTP/1.0 200 OK\r\nAuth-Status: Nope\r\n\r\n" }

// TestProxyHeaderTrust: a PROXY header's source replaces the client
// address only when the peer is in set_real_ip_from; the Proxy-Protocol-*
// headers are sent either way (SPEC §12.2, §12.4).
func TestProxyHeaderTrust(t *testing.T) {
	for _, tc := range []struct {
		trust    string
		clientIP string
	}{
		{"127.0.0.0/8", "192.0.2.1"},
		{"192.0.2.0/24", "127.0.0.1"},
	} {
		auth := startAuth(t, failAuth)
		_, addrs := startProxy(t, strings.Replace(ppYAML, "TRUST", tc.trust, 1), auth.addr())
		c := dialRaw(t, addrs[0])
		c.send("PROXY TCP4 192.0.2.1 192.0.2.2 123 5678\r\n")
		c.expect("* OK IMAP4 ready\r\n")
		c.send("a LOGIN u p\r\n")
		c.expect("a NO Nope\r\n")
		c.expectClosed()
		req := auth.requests()[0]
		want := "Client-IP: " + tc.clientIP + "\r\nProxy-Protocol-Addr: 192.0.2.1\r\nProxy-Protocol-Port: 123\r\nProxy-Protocol-Server-Addr: 192.0.2.2\r\nProxy-Protocol-Server-Port: 5678\r\n"
		if !strings.Contains(req, want) {
			t.Errorf("trust %s: request lacks %q:\n%s", tc.trust, want, req)
		}
	}
}

// TestIPv6Listener serves a client on [::1] and reports it without
// brackets in Client-IP.
func TestIPv6Listener(t *testing.T) {
	auth := startAuth(t, failAuth)
	_, addrs := startProxy(t, strings.Replace(ppYAML, "TRUST", "127.0.0.1", 1), auth.addr())
	c := dialRaw(t, addrs[1])
	c.expect("* OK IMAP4 ready\r\n")
	c.send("a LOGIN u p\r\n")
	c.expect("a NO Nope\r\n")
	if req := auth.requests()[0]; !strings.Contains(req, "Client-IP: ::1\r\n") {
		t.Fatalf("request:\n%s", req)
	}
}

// TestProxyHeaderLogsOneClient: after a trusted PROXY header every log
// line of the session names the real client, in one client= field.
func TestProxyHeaderLogsOneClient(t *testing.T) {
	auth := startAuth(t, failAuth)
	_, addrs := startProxy(t, strings.Replace(ppYAML, "TRUST", "127.0.0.0/8", 1), auth.addr())
	c := dialRaw(t, addrs[0])
	c.send("PROXY TCP4 192.0.2.77 192.0.2.2 4077 143\r\n")
	c.expect("* OK IMAP4 ready\r\n")
	c.send("a LOGIN u p\r\n")
	c.expect("a NO Nope\r\n")
	c.expectClosed()
	var lines []string
	waitFor(t, func() bool {
		lines = nil
		for _, l := range strings.Split(testLogs.String(), "\n") {
			if strings.Contains(l, "192.0.2.77:4077") {
				lines = append(lines, l)
			}
		}
		return len(lines) > 0 && strings.Contains(lines[len(lines)-1], `msg="session done"`)
	}, "the session's summary line")
	for _, l := range lines {
		if n := strings.Count(l, " client="); n != 1 {
			t.Errorf("%d client= fields in %s", n, l)
		}
		if !strings.Contains(l, " client=192.0.2.77:4077 ") {
			t.Errorf("line does not name the real client: %s", l)
		}
	}
}
