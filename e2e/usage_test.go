package e2e

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestHelpAndVersion: -h prints the usage, naming every command, on
// stdout and exits 0; --version works as -V.
func TestHelpAndVersion(t *testing.T) {
	for _, arg := range []string{"-h", "--help", "-help"} {
		var stdout, stderr bytes.Buffer
		cmd := exec.Command(binary(t), arg)
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("%s: %v\n%s", arg, err, stderr.String())
		}
		for _, want := range []string{"mailproxy -t", "--version", "import-nginx", "-c /etc/nginx/nginx.conf", "-log-level", "SIGHUP reloads"} {
			if !strings.Contains(stdout.String(), want) {
				t.Errorf("%s: usage lacks %q:\n%s", arg, want, stdout.String())
			}
		}
	}
	if out, code := runCLI(t, "--version"); code != 0 || !strings.HasPrefix(out, "mailproxy version ") {
		t.Errorf("--version: %d %q", code, out)
	}
	if out, code := runCLI(t, "-nope"); code != 2 || !strings.Contains(out, "usage:") {
		t.Errorf("unknown flag: %d %q", code, out)
	}
	if out, code := runCLI(t, "-t", "extra"); code != 2 || !strings.Contains(out, `unexpected argument "extra"`) {
		t.Errorf("extra argument: %d %q", code, out)
	}
}

// TestShutdownTimeoutCountsSessions: the line that announces the cut
// names the sessions being cut, not those left after it.
func TestShutdownTimeoutCountsSessions(t *testing.T) {
	p, _, c, r := loggedIn(t, "shutdown_timeout: 300ms\n")
	p.cmd.Process.Signal(syscall.SIGQUIT)
	expectClosed(t, c, r, 10*time.Second, "after shutdown_timeout")
	p.waitExit(t, 5*time.Second, "after shutdown_timeout")
	if !strings.Contains(p.stderr.String(), `msg="shutdown timeout: closing the remaining sessions" sessions=1`) {
		t.Errorf("log:\n%s", p.stderr.String())
	}
}

// TestPrivilegedPortHint: binding a port below 1024 without the
// capability fails with exit 1 and a hint naming CAP_NET_BIND_SERVICE
// and the systemd socket. As root the binary runs as nobody.
func TestPrivilegedPortHint(t *testing.T) {
	dir, err := os.MkdirTemp("", "mailproxy-e2e-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	os.Chmod(dir, 0o755)
	bin := filepath.Join(dir, "mailproxy")
	data, err := os.ReadFile(binary(t))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(bin, data, 0o755)
	port := 0
	for p := 1000; p > 600 && port == 0; p-- {
		if ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p)); err == nil {
			ln.Close()
			port = p
		}
	}
	if port == 0 && os.Getuid() == 0 {
		t.Fatal("no free port below 1024")
	}
	if port == 0 {
		port = 1000 // not root: cannot probe, and binding fails either way
	}
	file := filepath.Join(dir, "c.yaml")
	os.WriteFile(file, []byte(imapConfig(fmt.Sprintf("127.0.0.1:%d", port), "127.0.0.1:9000")), 0o644)
	cmd := exec.Command(bin, "-c", file)
	if os.Getuid() == 0 {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("exit %v, want 1:\n%s", err, out.String())
	}
	for _, want := range []string{"permission denied", "CAP_NET_BIND_SERVICE", "mailproxy.socket", "setcap cap_net_bind_service=+ep"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

// TestCheckRefusesMissingLogDirectory: -t refuses an error_log in a
// directory that does not exist, at its line, instead of a start that
// fails.
func TestCheckRefusesMissingLogDirectory(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "c.yaml")
	os.WriteFile(file, []byte("error_log: "+dir+"/nope/mail.log\n"+imapConfig("127.0.0.1:10143", "127.0.0.1:9000")), 0o600)
	out, code := runCLI(t, "-t", "-c", file)
	if want := file + ":1: error_log: cannot create " + dir + "/nope/mail.log: directory " + dir + "/nope: no such file or directory\n"; code != 2 || out != want {
		t.Errorf("exit %d, output %q; want 2 and %q", code, out, want)
	}
}
