// Package kvstoretest starts stores for tests: a real redis-server on a
// loopback port with its own directory (Debian's redis-server, which the
// test scripts install), or an in-process miniredis for unit tests.
package kvstoretest

import (
	"bufio"
	"fmt"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
)

// Server is a redis-server this test started.
type Server struct {
	// URL is the store URL for it: redis://127.0.0.1:PORT/0.
	URL  string
	Addr string
	cmd  *exec.Cmd
	dir  string
	t    testing.TB
}

// Real starts redis-server on a free loopback port, in a directory of its
// own, persisting nothing; it is stopped by its PID when the test ends. A
// machine without redis-server fails the test: the test scripts install it.
func Real(t testing.TB) *Server {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Fatalf("redis-server is not installed (apt-get install redis-server): %v", err)
	}
	s := &Server{dir: t.TempDir(), t: t}
	s.Addr = freePort(t)
	s.URL = "redis://" + s.Addr + "/0"
	s.Start()
	t.Cleanup(s.Stop)
	return s
}

// Start (re)starts the server on its address.
func (s *Server) Start() {
	s.t.Helper()
	_, port, _ := net.SplitHostPort(s.Addr)
	cmd := exec.Command("redis-server", "--port", port, "--bind", "127.0.0.1", "--dir", s.dir,
		"--save", "", "--appendonly", "no", "--daemonize", "no", "--logfile", "")
	out, err := cmd.StdoutPipe()
	if err != nil {
		s.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	s.cmd = cmd
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(out)
		said := false
		for sc.Scan() {
			if !said && strings.Contains(sc.Text(), "Ready to accept connections") {
				said = true
				ready <- true
			}
		}
		if !said {
			ready <- false
		}
	}()
	select {
	case ok := <-ready:
		if !ok {
			s.t.Fatalf("redis-server on %s exited before it was ready", s.Addr)
		}
	case <-time.After(10 * time.Second):
		s.t.Fatalf("redis-server on %s not ready after 10 s", s.Addr)
	}
}

// Stop ends the server by its PID and waits for it.
func (s *Server) Stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	s.cmd.Process.Kill()
	s.cmd.Wait()
	s.cmd = nil
}

// Mini starts an in-process miniredis for unit tests and returns it with
// its store URL; it stops when the test ends.
func Mini(t testing.TB) (*miniredis.Miniredis, string) {
	t.Helper()
	m := miniredis.RunT(t)
	return m, fmt.Sprintf("redis://%s/0", m.Addr())
}

// freePort returns a loopback address nothing listens on now.
func freePort(t testing.TB) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
