package bench

import (
	"bufio"
	"bytes"
	"net"
)

// authService is a minimal nginx auth_http service: for every request it
// reads the header block and answers, from a precomputed table, Auth-Status
// OK with the address of the backend of the request's Auth-Protocol, then
// closes the connection (HTTP/1.0, as nginx and mailproxy speak it).
type authService struct {
	*server
	answers map[string][]byte // Auth-Protocol value → whole response
}

// startAuth serves backends (protocol → "127.0.0.1:port") on a free
// loopback port.
func startAuth(backends map[string]string) (*authService, error) {
	a := &authService{answers: map[string][]byte{}}
	for proto, addr := range backends {
		host, port, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		a.answers[proto] = []byte("HTTP/1.0 200 OK\r\nAuth-Status: OK\r\nAuth-Server: " + host + "\r\nAuth-Port: " + port + "\r\n\r\n")
	}
	s, err := listen("127.0.0.1:0", nil, a.serve)
	if err != nil {
		return nil, err
	}
	a.server = s
	return a, nil
}

var (
	authProtocol = []byte("auth-protocol:")
	authRefused  = []byte("HTTP/1.0 200 OK\r\nAuth-Status: unknown protocol\r\n\r\n")
)

func (a *authService) serve(c net.Conn, r *bufio.Reader, _ *bufio.Writer) {
	answer := authRefused
	for {
		line, err := readLine(r)
		if err != nil {
			return
		}
		line = trimCRLF(line)
		if len(line) == 0 {
			break
		}
		if len(line) > len(authProtocol) && bytes.EqualFold(line[:len(authProtocol)], authProtocol) {
			if ans, ok := a.answers[string(bytes.TrimSpace(line[len(authProtocol):]))]; ok {
				answer = ans
			}
		}
	}
	c.Write(answer)
}
