package proxy_test

import (
	"bufio"
	"io"
	"net"
	"strings"
	"testing"
)

// BenchmarkIMAPSession runs whole sessions through the proxy: connect,
// greeting, LOGIN (one auth_http round trip, the backend login), one
// command relayed, close. The figures include the test's own auth
// service, backend and client in this process: compare them between
// builds, not with other programs (make bench does that).
func BenchmarkIMAPSession(b *testing.B) {
	auth := startAuth(b, okTo(echoBackend(b))).addr()
	_, addrs := startProxy(b, strings.Replace(relayYAML, "PT", "1h", 1), auth)
	b.ReportAllocs()
	for b.Loop() {
		c, err := net.Dial("tcp", addrs[0])
		if err != nil {
			b.Fatal(err)
		}
		r := bufio.NewReader(c)
		readLine(b, r) // greeting
		io.WriteString(c, "a LOGIN alice pw\r\n")
		readLine(b, r)
		io.WriteString(c, "n NOOP\r\n")
		readLine(b, r)
		c.Close()
	}
}

func readLine(b *testing.B, r *bufio.Reader) string {
	b.Helper()
	line, err := r.ReadString('\n')
	if err != nil {
		b.Fatal(err)
	}
	return line
}
