package e2e

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestNotifyProtocol drives the binary under a fake NOTIFY_SOCKET: READY=1
// once every listener is bound, RELOADING=1 then READY=1 around a SIGHUP,
// STOPPING=1 on SIGTERM.
func TestNotifyProtocol(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	next := func() string {
		t.Helper()
		conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		buf := make([]byte, 4096)
		n, err := conn.Read(buf)
		if err != nil {
			t.Fatalf("no notification: %v", err)
		}
		return string(buf[:n])
	}
	listen := freePort(t)
	t.Setenv("NOTIFY_SOCKET", sock)
	p := startBinary(t, imapConfig(listen, "127.0.0.1:9"))
	if got := next(); got != "READY=1" {
		t.Fatalf("first notification %q, want READY=1", got)
	}
	if c, err := net.Dial("tcp", listen); err != nil {
		t.Fatalf("not listening when READY=1 was sent: %v", err)
	} else {
		c.Close()
	}
	p.cmd.Process.Signal(syscall.SIGHUP)
	if got := next(); !strings.HasPrefix(got, "RELOADING=1\nMONOTONIC_USEC=") {
		t.Fatalf("on SIGHUP: %q", got)
	}
	if got := next(); got != "READY=1" {
		t.Fatalf("after the reload: %q", got)
	}
	if got := next(); got != "STATUS=configuration reloaded" {
		t.Fatalf("status after the reload: %q", got)
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	if got := next(); got != "STOPPING=1" {
		t.Fatalf("on SIGTERM: %q", got)
	}
}

// TestSocketActivation passes a listening socket the way systemd does
// (LISTEN_PID, LISTEN_FDS, LISTEN_FDNAMES, fd 3): mailproxy serves on it
// instead of binding its own.
func TestSocketActivation(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f, err := ln.(*net.TCPListener).File()
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // the duplicate in f keeps the socket listening
	file := filepath.Join(t.TempDir(), "mailproxy.yaml")
	if err := os.WriteFile(file, []byte(imapConfig(addr, "127.0.0.1:9")), 0o600); err != nil {
		t.Fatal(err)
	}
	// LISTEN_PID must be the daemon's own pid: the shell sets it to its
	// own and execs, keeping the pid.
	cmd := exec.Command("/bin/sh", "-c", `LISTEN_PID=$$ LISTEN_FDS=1 LISTEN_FDNAMES=imap exec "$0" -c "$1"`, binary(t), file)
	cmd.ExtraFiles = []*os.File{f}
	p := start(t, cmd)
	f.Close()
	if !strings.Contains(p.stderr.String(), "using an inherited socket") {
		t.Fatalf("the inherited socket was not used:\n%s", p.stderr.String())
	}
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 64)
	n, _ := c.Read(buf)
	if string(buf[:n]) != "* OK IMAP4 ready\r\n" {
		t.Fatalf("greeting %q", buf[:n])
	}
}
