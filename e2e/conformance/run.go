package conformance

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Time limits of README §4 and §6. They are the reference runner's
// margins and must not be shortened.
const (
	readLimit     = 5 * time.Second        // client-expect, backend-expect, auth request read
	backendLimit  = 5 * time.Second        // backend script end after the client script
	trailingWait  = 200 * time.Millisecond // no stray client bytes after the script
	authWait      = 1 * time.Second        // outstanding auth requests after the script
	startLimit    = 10 * time.Second       // mailproxy start-up (not a conformance margin)
	maxStderrTail = 8 << 10
)

// Env is what every case run needs.
type Env struct {
	Binary  string // mailproxy binary
	Cert    string // PEM certificate, ${CERT}
	Key     string // PEM private key, ${KEY}
	WorkDir string // directory for the case's files (YAML config)
	// Globals are top-level YAML lines put before the case's servers
	// (e.g. "event_loops: 2\n").
	Globals string
}

// Result is the outcome of one case run.
type Result struct {
	Failures []string // empty: the case passed
	YAML     string   // the configuration given to mailproxy
	Stderr   string   // mailproxy's stderr (tail)
}

// Passed reports whether the case passed.
func (r *Result) Passed() bool { return len(r.Failures) == 0 }

// Run plays one case against a fresh mailproxy and judges it with the
// verdict rules of README §6. Every server and process it starts is
// stopped before it returns.
func Run(c *Case, env Env) *Result {
	res := &Result{}
	fail := func(format string, args ...any) {
		res.Failures = append(res.Failures, fmt.Sprintf(format, args...))
	}

	authLn, err := listenTCP()
	if err != nil {
		fail("auth listener: %v", err)
		return res
	}
	backLn, err := listenTCP()
	if err != nil {
		authLn.Close()
		fail("backend listener: %v", err)
		return res
	}
	dnsPC, err := listenUDP()
	if err != nil {
		authLn.Close()
		backLn.Close()
		fail("dns socket: %v", err)
		return res
	}
	listenPort, err1 := freePort()
	closedPort, err2 := freePort()
	if err := errors.Join(err1, err2); err != nil {
		authLn.Close()
		backLn.Close()
		dnsPC.Close()
		fail("ports: %v", err)
		return res
	}

	vars := NewVars(map[string]string{
		"LISTEN":       fmt.Sprintf("127.0.0.1:%d", listenPort),
		"LISTEN_PORT":  strconv.Itoa(listenPort),
		"AUTH":         authLn.Addr().String(),
		"BACKEND_PORT": strconv.Itoa(backLn.Addr().(*net.TCPAddr).Port),
		"CLOSED_PORT":  strconv.Itoa(closedPort),
		"DNS":          dnsPC.LocalAddr().String(),
		"CERT":         env.Cert,
		"KEY":          env.Key,
	})
	auth := startAuthServer(authLn, c.AuthReplies, vars)
	defer auth.stop()
	back := startBackend(backLn, c.Backend, vars)
	defer back.stop()
	dns := startDNS(dnsPC, c.DNS)
	defer dns.stop()

	// Configuration.
	var conf []string
	for _, l := range c.Config {
		b, err := vars.Subst([]byte(l))
		if err != nil {
			fail("config: %v", err)
			return res
		}
		conf = append(conf, string(b))
	}
	res.YAML, err = ServerYAML(conf)
	res.YAML = env.Globals + res.YAML
	if err != nil {
		fail("config: %v", err)
		return res
	}
	yamlPath := filepath.Join(env.WorkDir, "mailproxy.yaml")
	if err := os.WriteFile(yamlPath, []byte(res.YAML), 0o644); err != nil {
		fail("config: %v", err)
		return res
	}

	// The proxy.
	proc, err := startProxy(env.Binary, yamlPath)
	if err != nil {
		fail("start mailproxy: %v", err)
		return res
	}
	defer func() {
		proc.stop()
		res.Stderr = tail(proc.stderr.String(), maxStderrTail)
	}()
	if err := proc.waitListening(listenPort, startLimit); err != nil {
		fail("%v", err)
		return res
	}

	// The client.
	raw, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", listenPort), readLimit)
	if err != nil {
		fail("client connect: %v", err)
		return res
	}
	tcp := raw.(*net.TCPConn)
	cl := &client{raw: tcp, conn: tcp, vars: vars}
	defer func() { cl.conn.Close() }()
	vars.Bind("CLIENT_PORT", []byte(strconv.Itoa(tcp.LocalAddr().(*net.TCPAddr).Port)))

	clientErr := cl.run(c.Client)
	if clientErr != nil {
		fail("%v", clientErr)
	}
	// §6.2: no stray bytes after the last step (EOF is fine).
	if clientErr == nil && (len(c.Client) == 0 || c.Client[len(c.Client)-1].Op != "closed") {
		if r := silence(cl.conn, trailingWait); strings.HasPrefix(r, "data") {
			fail("unexpected trailing client data: %s", r)
		}
	}
	// §6.3: the backend script finishes within 5 s.
	if len(c.Backend) > 0 && clientErr == nil {
		select {
		case <-back.finished:
		case <-time.After(backendLimit):
			fail("backend script did not finish (connections: %d)", back.result().conns)
		}
	}
	// §6.4: auth connections and requests.
	auth.waitRequests(len(c.AuthReplies), authWait)
	reqs := auth.snapshot()
	if len(reqs) != len(c.AuthReplies) {
		fail("auth requests: want %d got %d", len(c.AuthReplies), len(reqs))
	}
	for i, tmpl := range c.AuthExpect {
		if i >= len(reqs) {
			break
		}
		if !reqs[i].complete {
			fail("auth request #%d incomplete: got %q", i+1, reqs[i].data)
			continue
		}
		ok, err := vars.Match(tmpl, reqs[i].data)
		if err != nil {
			fail("auth-expect #%d: %v", i+1, err)
		} else if !ok {
			fail("auth-expect #%d: want %q got %q", i+1, tmpl, reqs[i].data)
		}
	}
	// §6.3: backend script result, connection count, extra bytes. Extra
	// bytes are checked last so that the whole case is covered.
	br := back.result()
	switch {
	case br.err != nil:
		fail("%v", br.err)
	case len(br.extra) > 0:
		fail("backend received unexpected bytes: %q", br.extra)
	}
	if len(c.Backend) == 0 && br.conns > 0 {
		fail("backend: unexpected connection")
	} else if len(c.Backend) > 0 && br.conns != 1 {
		fail("backend: want 1 connection, got %d", br.conns)
	}
	return res
}

// tail returns the last n bytes of s.
func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}

// Ports. README §5.1: every port is a 5-digit number (two cases size an
// auth reply on that), and no port is handed out twice in one run, so
// that one case's closed port is not another case's listener.
var (
	portsMu   sync.Mutex
	portsUsed = map[int]bool{}
)

// claimPort records port as used; it reports false when it is not a
// 5-digit port or was handed out before.
func claimPort(port int) bool {
	portsMu.Lock()
	defer portsMu.Unlock()
	if port < 10000 || port > 65535 || portsUsed[port] {
		return false
	}
	portsUsed[port] = true
	return true
}

// listenTCP opens a TCP listener on a fresh 5-digit loopback port.
func listenTCP() (net.Listener, error) {
	for range 100 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		if claimPort(ln.Addr().(*net.TCPAddr).Port) {
			return ln, nil
		}
		ln.Close()
	}
	return nil, errors.New("no free 5-digit port")
}

// listenUDP opens a UDP socket on a fresh 5-digit loopback port.
func listenUDP() (net.PacketConn, error) {
	for range 100 {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		if claimPort(pc.LocalAddr().(*net.UDPAddr).Port) {
			return pc, nil
		}
		pc.Close()
	}
	return nil, errors.New("no free 5-digit port")
}

// freePort returns a fresh 5-digit loopback TCP port with no listener
// (bound once, then closed): the proxy's listen port, or the closed port.
func freePort() (int, error) {
	ln, err := listenTCP()
	if err != nil {
		return 0, err
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return port, nil
}
