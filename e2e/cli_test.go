package e2e

import (
	"bufio"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"mailproxy/internal/mailtest"
)

func runCLI(t *testing.T, args ...string) (string, int) {
	t.Helper()
	out, err := exec.Command(binary(t), args...).CombinedOutput()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return string(out), ee.ExitCode()
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(out), 0
}

func TestVersionAndConfigCheck(t *testing.T) {
	if out, code := runCLI(t, "-V"); code != 0 || !strings.HasPrefix(out, "mailproxy version ") {
		t.Fatalf("-V: %d %q", code, out)
	}
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	os.WriteFile(good, []byte(imapConfig("127.0.0.1:10143", "127.0.0.1:9000")), 0o600)
	if out, code := runCLI(t, "-t", "-c", good); code != 0 || !strings.Contains(out, "configuration ok") {
		t.Fatalf("-t good: %d %q", code, out)
	}
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("servers:\n  - protocol: imap\n    listen: [\"127.0.0.1:10143\"]\n    auth_htp: http://127.0.0.1/\n"), 0o600)
	out, code := runCLI(t, "-t", "-c", bad)
	if code != 2 || !strings.Contains(out, bad+":4:") {
		t.Fatalf("-t bad: exit %d, output %q; want exit 2 and %s:4:", code, out, bad)
	}
	if _, code := runCLI(t, "-c", bad); code != 2 {
		t.Fatalf("start with a bad config: exit %d, want 2", code)
	}
	if _, code := runCLI(t, "-c", filepath.Join(dir, "missing.yaml")); code != 2 {
		t.Fatalf("missing config: exit %d, want 2", code)
	}
}

// TestPortInUseExitsOne: a listener that cannot bind is a runtime failure.
func TestPortInUseExitsOne(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	file := filepath.Join(t.TempDir(), "c.yaml")
	os.WriteFile(file, []byte(imapConfig(ln.Addr().String(), "127.0.0.1:9000")), 0o600)
	if out, code := runCLI(t, "-c", file); code != 1 {
		t.Fatalf("exit %d, want 1: %s", code, out)
	}
}

// loggedIn starts mailproxy on prefix and an IMAP server in front of an
// in-memory backend, and returns it, its listening address and one
// logged-in session, closed at cleanup.
func loggedIn(t *testing.T, prefix string) (p *process, listen string, c net.Conn, r *bufio.Reader) {
	t.Helper()
	be, err := mailtest.StartIMAPBackend("127.0.0.1:0", map[string]string{"alice": "secret"}, true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { be.Close() })
	listen = freePort(t)
	p = startBinary(t, prefix+imapConfig(listen, authOK(t, be.Addr())))
	c, r = login(t, listen)
	t.Cleanup(func() { c.Close() })
	return p, listen, c, r
}

// expectClosed fails the test unless the proxy closes the session within
// limit; after says after what it should.
func expectClosed(t *testing.T, c net.Conn, r *bufio.Reader, limit time.Duration, after string) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(limit))
	if _, err := r.ReadByte(); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("session not closed %s: %v", after, err)
	}
}

// TestSIGQUITDrains: after SIGQUIT new connections are refused, a spliced
// session keeps working, and the process exits 0 when it ends.
func TestSIGQUITDrains(t *testing.T) {
	p, listen, c, r := loggedIn(t, "")
	p.cmd.Process.Signal(syscall.SIGQUIT)
	time.Sleep(300 * time.Millisecond)
	if c2, err := net.Dial("tcp", listen); err == nil {
		c2.Close()
		t.Fatal("a new connection was accepted after SIGQUIT")
	}
	io.WriteString(c, "n NOOP\r\n")
	if l := readLine(t, c, r); !strings.HasPrefix(l, "n OK") {
		t.Fatalf("session after SIGQUIT: %q", l)
	}
	io.WriteString(c, "z LOGOUT\r\n")
	p.waitExit(t, 10*time.Second, "after its last session ended")
}

// TestSIGTERMStopsAtOnce: SIGTERM cuts open sessions and exits 0.
func TestSIGTERMStopsAtOnce(t *testing.T) {
	p, _, c, r := loggedIn(t, "")
	p.cmd.Process.Signal(syscall.SIGTERM)
	expectClosed(t, c, r, 5*time.Second, "by SIGTERM")
	p.waitExit(t, 5*time.Second, "on SIGTERM")
}

// TestShutdownTimeoutCutsSessions: after SIGQUIT, sessions still open
// when shutdown_timeout expires are closed and the process exits 0.
func TestShutdownTimeoutCutsSessions(t *testing.T) {
	p, _, c, r := loggedIn(t, "shutdown_timeout: 1s\n")
	start := time.Now()
	p.cmd.Process.Signal(syscall.SIGQUIT)
	expectClosed(t, c, r, 10*time.Second, "after shutdown_timeout")
	if d := time.Since(start); d < 900*time.Millisecond {
		t.Fatalf("session cut after %v, before shutdown_timeout", d)
	}
	p.waitExit(t, 5*time.Second, "after shutdown_timeout")
}
