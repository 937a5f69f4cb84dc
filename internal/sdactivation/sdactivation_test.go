package sdactivation

import (
	"bufio"
	"fmt"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The tests that pass real descriptors run this test binary again as a
// child, the way systemd starts a service: the sockets as fds 3, 4, …
// (exec.Cmd.ExtraFiles) and LISTEN_* in the environment. LISTEN_PID must
// be the child's own pid, unknown before it starts, so the child is
// started through sh: `export LISTEN_PID=$$; exec test-binary …` keeps the
// pid and the descriptors across the exec. The child runs
// TestActivationChild, whose checks are chosen by childEnv.
const childEnv = "SDACTIVATION_TEST_CHILD"

// wantEnv tells the child what to expect: "name=address" items separated
// by spaces, in descriptor order.
const wantEnv = "SDACTIVATION_TEST_WANT"

// runChild starts the child with files as descriptors 3, 4, … and env
// (LISTEN_PID is added unless env sets it), and returns its output once it
// prints "ready" (after taking its listeners) and a function that waits
// for it to exit.
func runChild(t *testing.T, scenario string, files []*os.File, env ...string) (*bufio.Reader, func() string) {
	t.Helper()
	if _, err := os.Stat("/bin/sh"); err != nil {
		t.Skip("no /bin/sh")
	}
	script := `export LISTEN_PID=$$; exec "$0" "$@"`
	for _, e := range env {
		if strings.HasPrefix(e, EnvPID+"=") {
			script = `exec "$0" "$@"`
		}
	}
	cmd := exec.Command("/bin/sh", "-c", script, os.Args[0], "-test.run=^TestActivationChild$", "-test.v", "-test.count=1")
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "LISTEN_") {
			cmd.Env = append(cmd.Env, e)
		}
	}
	cmd.Env = append(cmd.Env, childEnv+"="+scenario)
	cmd.Env = append(cmd.Env, env...)
	cmd.ExtraFiles = files
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	r := bufio.NewReader(out)
	var log strings.Builder
	wait := func() string {
		rest := new(strings.Builder)
		bufio.NewReader(r).WriteTo(rest)
		log.WriteString(rest.String())
		if err := cmd.Wait(); err != nil {
			t.Fatalf("child %s: %v\n%s", scenario, err, log.String())
		}
		if !strings.Contains(log.String(), "\nPASS") && !strings.HasPrefix(log.String(), "PASS") {
			t.Fatalf("child %s did not pass:\n%s", scenario, log.String())
		}
		return log.String()
	}
	return r, wait
}

// socketFiles opens n loopback listeners and returns duplicates of their
// descriptors (for ExtraFiles) and their addresses.
func socketFiles(t *testing.T, n int) ([]*os.File, []string) {
	t.Helper()
	var files []*os.File
	var addrs []string
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		f, err := ln.(*net.TCPListener).File()
		if err != nil {
			t.Fatal(err)
		}
		ln.Close() // f still holds the socket
		t.Cleanup(func() { f.Close() })
		files = append(files, f)
		addrs = append(addrs, ln.Addr().String())
	}
	return files, addrs
}

// readReady reads the child's output up to its "ready" line.
func readReady(t *testing.T, r *bufio.Reader) string {
	t.Helper()
	var seen strings.Builder
	for {
		line, err := r.ReadString('\n')
		seen.WriteString(line)
		if strings.TrimSpace(line) == "ready" {
			return seen.String()
		}
		if err != nil {
			t.Fatalf("child ended before ready: %v\n%s", err, seen.String())
		}
	}
}

// greet connects to addr and returns the line the child wrote there.
func greet(t *testing.T, addr string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		t.Fatalf("%s: %v", addr, err)
	}
	return strings.TrimSpace(line)
}

func TestNamedSocketsServeInChild(t *testing.T) {
	t.Parallel()
	files, addrs := socketFiles(t, 3)
	want := fmt.Sprintf("imap=%s imaps=%s imap=%s", addrs[0], addrs[1], addrs[2])
	r, wait := runChild(t, "serve", files,
		EnvFDs+"=3", EnvNames+"=imap:imaps:imap", wantEnv+"="+want)
	readReady(t, r)
	for i, name := range []string{"imap", "imaps", "imap"} {
		if got, w := greet(t, addrs[i]), name+" "+addrs[i]; got != w {
			t.Errorf("socket %d answered %q, want %q", 3+i, got, w)
		}
	}
	wait()
}

func TestUnnamedSockets(t *testing.T) {
	t.Parallel()
	files, addrs := socketFiles(t, 2)
	want := fmt.Sprintf("%s=%s %s=%s", Unnamed, addrs[0], Unnamed, addrs[1])
	_, wait := runChild(t, "check", files, EnvFDs+"=2", wantEnv+"="+want)
	wait()
}

func TestOtherProcessesSockets(t *testing.T) {
	t.Parallel()
	// LISTEN_PID names another process: nothing is taken, the descriptors
	// are left as they are, and the variables are still removed.
	files, _ := socketFiles(t, 1)
	_, wait := runChild(t, "otherpid", files, EnvPID+"=1", EnvFDs+"=1", EnvNames+"=imap")
	wait()
}

func TestNameCountMismatch(t *testing.T) {
	t.Parallel()
	files, _ := socketFiles(t, 2)
	_, wait := runChild(t, "fail", files, EnvFDs+"=2", EnvNames+"=imap",
		wantEnv+"=names 1 sockets")
	wait()
}

func TestNotASocket(t *testing.T) {
	t.Parallel()
	files, _ := socketFiles(t, 1)
	f, err := os.Create(filepath.Join(t.TempDir(), "plain"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	_, wait := runChild(t, "fail", append(files, f), EnvFDs+"=2", EnvNames+"=imap:junk",
		wantEnv+"=descriptor 4 (junk)")
	wait()
}

// TestActivationChild is the child's side; it does nothing in a normal run.
func TestActivationChild(t *testing.T) {
	scenario := os.Getenv(childEnv)
	if scenario == "" {
		t.Skip("runs only as the child of the activation tests")
	}
	want := os.Getenv(wantEnv)
	inherited, err := Listeners()
	for _, v := range []string{EnvPID, EnvFDs, EnvNames} {
		if val, ok := os.LookupEnv(v); ok {
			t.Errorf("%s=%q still set", v, val)
		}
	}
	switch scenario {
	case "fail":
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("err = %v, want one containing %q", err, want)
		}
		if inherited != nil {
			t.Errorf("listeners returned with an error: %v", inherited)
		}
		for _, fd := range []int{3, 4} {
			if fdOpen(fd) {
				t.Errorf("descriptor %d left open after the error", fd)
			}
		}
		return
	case "otherpid":
		if err != nil || inherited != nil {
			t.Fatalf("got %v, %v; want nil, nil", inherited, err)
		}
		if !fdOpen(3) || cloexec(t, 3) {
			t.Error("descriptor 3 was touched though meant for another process")
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	if again, err := Listeners(); again != nil || err != nil {
		t.Errorf("second call: %v, %v; want nil, nil", again, err)
	}

	// Compare name by name, each in descriptor order.
	got := map[string][]string{}
	for name, lns := range inherited {
		for _, ln := range lns {
			got[name] = append(got[name], ln.Addr().String())
			if !listenerCloexec(t, ln) {
				t.Errorf("%s %s: descriptor not close-on-exec", name, ln.Addr())
			}
		}
	}
	wantMap := map[string][]string{}
	for _, item := range strings.Fields(want) {
		name, addr, _ := strings.Cut(item, "=")
		wantMap[name] = append(wantMap[name], addr)
	}
	if !maps.EqualFunc(got, wantMap, slices.Equal) {
		t.Fatalf("got %v, want %v", got, wantMap)
	}
	if scenario != "serve" {
		return
	}
	fmt.Println("ready")
	var wg sync.WaitGroup
	for name, lns := range inherited {
		for _, ln := range lns {
			wg.Go(func() {
				ln.(*net.TCPListener).SetDeadline(time.Now().Add(10 * time.Second))
				c, err := ln.Accept()
				if err != nil {
					t.Errorf("%s: %v", name, err)
					return
				}
				fmt.Fprintf(c, "%s %s\n", name, ln.Addr())
				c.Close()
			})
		}
	}
	wg.Wait()
	Close(inherited)
}

// fdOpen reports whether descriptor fd is open in this process.
func fdOpen(fd int) bool {
	_, _, errno := syscall.Syscall(syscall.SYS_FCNTL, uintptr(fd), syscall.F_GETFD, 0)
	return errno == 0
}

// cloexec reports whether descriptor fd has FD_CLOEXEC set.
func cloexec(t *testing.T, fd uintptr) bool {
	t.Helper()
	flags, _, errno := syscall.Syscall(syscall.SYS_FCNTL, fd, syscall.F_GETFD, 0)
	if errno != 0 {
		t.Fatalf("fcntl(%d): %v", fd, errno)
	}
	return flags&syscall.FD_CLOEXEC != 0
}

func listenerCloexec(t *testing.T, ln net.Listener) bool {
	raw, err := ln.(syscall.Conn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var set bool
	raw.Control(func(fd uintptr) { set = cloexec(t, fd) })
	return set
}

// TestEnvironment covers the variables' rules without descriptors: only
// LISTEN_FDS=0 is ever given with this process's own pid.
func TestEnvironment(t *testing.T) {
	self := strconv.Itoa(os.Getpid())
	for _, c := range []struct {
		pid, fds, names string
		empty           bool // (empty map, nil) rather than (nil, nil)
		fail            bool
	}{
		{pid: "", fds: "2"},
		{pid: self, fds: ""},
		{pid: "1", fds: "2"},
		{pid: self, fds: "0", empty: true},
		{pid: self, fds: "0", names: "", empty: true},
		{pid: "x", fds: "1", fail: true},
		{pid: "-5", fds: "1", fail: true},
		{pid: self, fds: "two", fail: true},
		{pid: self, fds: "-1", fail: true},
	} {
		t.Setenv(EnvPID, c.pid)
		t.Setenv(EnvFDs, c.fds)
		t.Setenv(EnvNames, c.names)
		got, err := Listeners()
		switch {
		case c.fail && err == nil:
			t.Errorf("%+v: no error", c)
		case !c.fail && err != nil:
			t.Errorf("%+v: %v", c, err)
		case c.empty && (got == nil || len(got) != 0):
			t.Errorf("%+v: got %v, want an empty map", c, got)
		case !c.empty && got != nil:
			t.Errorf("%+v: got %v, want nil", c, got)
		}
		for _, v := range []string{EnvPID, EnvFDs, EnvNames} {
			if _, ok := os.LookupEnv(v); ok {
				t.Errorf("%+v: %s still set", c, v)
			}
		}
	}
}
