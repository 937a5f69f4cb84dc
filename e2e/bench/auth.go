package bench

import (
	"bufio"
	"bytes"
	"maps"
	"net"
	"sync"
	"time"

	"mailproxy/internal/mailtest"
)

// authService is a minimal nginx auth_http service: for every request it
// reads the header block and answers, from a precomputed table, Auth-Status
// OK with the address of the backend of the request's Auth-Protocol, then
// closes the connection (HTTP/1.0, as nginx speaks it) — or, when the
// request asks for "Connection: keep-alive" (mailproxy's
// auth_http_keepalive), answers in HTTP/1.1 with a Content-Length and
// waits for the next request, as HTTP servers do.
//
// Two URIs besides /auth: /tls answers with the TLS backends (mailproxy's
// proxy_ssl), and /slow costs slowAuthCost per answer, as an auth service
// that checks a password hash or asks a database does.
//
// The password wrongPass, and only it, is refused with failedLogin and no
// Auth-Wait, so the proxy answers the client with the failure and closes
// the session: each guess of a password-guessing client is a connection
// (attack-throttle, throttle.go). The service counts the requests it
// answers, in all and per Client-IP.
type authService struct {
	*mailtest.Server
	answers   map[string][]byte // Auth-Protocol value → whole response
	keepAlive map[string][]byte // the same, for a keep-alive request
	tls       map[string][]byte // /tls: Auth-Protocol value → keep-alive response

	mu       sync.Mutex
	total    int64            // requests answered
	byClient map[string]int64 // Client-IP → requests answered
}

// The refused password and the failure's text.
const (
	wrongPass   = "wrong"
	failedLogin = "Invalid login or password"
)

// slowAuthCost is what one answer of /slow costs.
const slowAuthCost = 5 * time.Millisecond

// startAuth serves backends (protocol → "127.0.0.1:port") on a free
// loopback port; /tls serves tlsBackends.
func startAuth(backends, tlsBackends map[string]string) (*authService, error) {
	a := &authService{answers: map[string][]byte{}, keepAlive: map[string][]byte{}, tls: map[string][]byte{}, byClient: map[string]int64{}}
	for proto, addr := range backends {
		host, port, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		fields := "Auth-Status: OK\r\nAuth-Server: " + host + "\r\nAuth-Port: " + port + "\r\n"
		a.answers[proto] = []byte("HTTP/1.0 200 OK\r\n" + fields + "\r\n")
		a.keepAlive[proto] = []byte("HTTP/1.1 200 OK\r\n" + fields + "Content-Length: 0\r\n\r\n")
	}
	for proto, addr := range tlsBackends {
		host, port, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		a.tls[proto] = []byte("HTTP/1.1 200 OK\r\nAuth-Status: OK\r\nAuth-Server: " + host + "\r\nAuth-Port: " + port + "\r\nContent-Length: 0\r\n\r\n")
	}
	s, err := listen("127.0.0.1:0", nil, a.serve)
	if err != nil {
		return nil, err
	}
	a.Server = s
	return a, nil
}

var (
	authProtocol  = []byte("auth-protocol:")
	authPass      = []byte("auth-pass:")
	clientIP      = []byte("client-ip:")
	connKeepAlive = []byte("connection: keep-alive")
	authRefused   = []byte("HTTP/1.0 200 OK\r\nAuth-Status: unknown protocol\r\n\r\n")
	authFailed    = []byte("HTTP/1.0 200 OK\r\nAuth-Status: " + failedLogin + "\r\n\r\n")
	authFailedKA  = []byte("HTTP/1.1 200 OK\r\nAuth-Status: " + failedLogin + "\r\nContent-Length: 0\r\n\r\n")
)

// counts returns the requests answered so far, in all and per Client-IP
// (a copy).
func (a *authService) counts() (int64, map[string]int64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.total, maps.Clone(a.byClient)
}

// count records a request from client.
func (a *authService) count(client string) {
	a.mu.Lock()
	a.total++
	a.byClient[client]++
	a.mu.Unlock()
}

// serve answers requests on c until one does not ask to keep it.
func (a *authService) serve(c net.Conn, r *bufio.Reader, _ *bufio.Writer) {
	for {
		proto, keep, uri, client, wrong := "", false, "", "", false
		for first := true; ; first = false {
			line, err := readLine(r)
			if err != nil {
				return
			}
			line = trimCRLF(line)
			if len(line) == 0 {
				break
			}
			if first {
				if f := bytes.Fields(line); len(f) > 1 {
					uri = string(f[1])
				}
				continue
			}
			switch {
			case len(line) > len(authProtocol) && bytes.EqualFold(line[:len(authProtocol)], authProtocol):
				proto = string(bytes.TrimSpace(line[len(authProtocol):]))
			case bytes.EqualFold(line, connKeepAlive):
				keep = true
			case len(line) > len(authPass) && bytes.EqualFold(line[:len(authPass)], authPass):
				wrong = string(bytes.TrimSpace(line[len(authPass):])) == wrongPass
			case len(line) > len(clientIP) && bytes.EqualFold(line[:len(clientIP)], clientIP):
				client = string(bytes.TrimSpace(line[len(clientIP):]))
			}
		}
		a.count(client)
		answer, known := a.answers[proto]
		switch {
		case !known:
			answer, keep = authRefused, false
		case wrong && keep:
			answer = authFailedKA
		case wrong:
			answer = authFailed
		case uri == "/tls" && a.tls[proto] != nil:
			answer, keep = a.tls[proto], true
		case keep:
			answer = a.keepAlive[proto]
		}
		if uri == "/slow" {
			time.Sleep(slowAuthCost)
		}
		if _, err := c.Write(answer); err != nil || !keep {
			return
		}
	}
}
