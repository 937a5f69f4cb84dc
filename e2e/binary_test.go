package e2e

import (
	"bufio"
	"fmt"
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

func TestMain(m *testing.M) {
	code := m.Run()
	mailtest.RemoveBuilds()
	os.Exit(code)
}

// binary builds ./cmd/mailproxy once per test run.
func binary(t *testing.T) string {
	return build(t, "mailproxy/cmd/mailproxy")
}

// build builds the command pkg once per test run and returns its path.
func build(t *testing.T, pkg string) string {
	t.Helper()
	bin, err := mailtest.Build(pkg)
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// freePort returns a loopback address nobody listens on right now.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// process is a running mailproxy.
type process struct {
	cmd    *exec.Cmd
	stderr *mailtest.SyncBuffer
}

// startBinary writes yaml to a file, starts mailproxy on it and waits until
// it logs that it started. The process is stopped at cleanup.
func startBinary(t *testing.T, yaml string, args ...string) *process {
	t.Helper()
	file := filepath.Join(t.TempDir(), "mailproxy.yaml")
	if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return startBinaryFile(t, file, args...)
}

// startBinaryFile is startBinary for a configuration file that exists.
func startBinaryFile(t *testing.T, file string, args ...string) *process {
	t.Helper()
	return start(t, exec.Command(binary(t), append([]string{"-c", file}, args...)...))
}

// start starts cmd, a mailproxy, collecting its stderr, and waits until
// it logs that it started. The process is stopped at cleanup.
func start(t *testing.T, cmd *exec.Cmd) *process {
	t.Helper()
	p := &process{cmd: cmd, stderr: &mailtest.SyncBuffer{}}
	p.cmd.Stderr = p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { p.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			p.cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("mailproxy stderr:\n%s", p.stderr.String())
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(p.stderr.String(), "mailproxy started") {
		if time.Now().After(deadline) {
			t.Fatalf("mailproxy did not start:\n%s", p.stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	return p
}

// waitExit waits up to limit for mailproxy to exit and fails the test
// unless it exits with status 0; after says after what it should.
func (p *process) waitExit(t *testing.T, limit time.Duration, after string) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit %s: %v\n%s", after, err, p.stderr.String())
		}
	case <-time.After(limit):
		t.Fatalf("mailproxy did not exit %s", after)
	}
}

// fds counts the process's open descriptors.
func (p *process) fds(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", p.cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

// rchar returns the bytes the process read through read(2)-family calls
// (/proc/PID/io); splice(2) does not count there.
func (p *process) rchar(t *testing.T) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/io", p.cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	var v int64
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "rchar:") {
			fmt.Sscan(strings.TrimPrefix(line, "rchar:"), &v)
		}
	}
	return v
}

// readLine reads one CRLF line with a deadline.
func readLine(t *testing.T, c net.Conn, r *bufio.Reader) string {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	line, err := r.ReadString('\n')
	if err != nil {
		t.Fatalf("read: %v (got %q)", err, line)
	}
	return line
}

var _ = io.EOF
