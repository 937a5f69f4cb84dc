package e2e

import (
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"mailproxy/internal/mailtest"
)

// nobody returns the ids of nobody:nogroup (Debian's unprivileged
// account), skipping the test when the account is missing or the test
// does not run as root.
func nobody(t *testing.T) (uid, gid int) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	u, err := user.Lookup("nobody")
	if err != nil {
		t.Skip("no user nobody")
	}
	g, err := user.LookupGroup("nogroup")
	if err != nil {
		t.Skip("no group nogroup")
	}
	uid, _ = strconv.Atoi(u.Uid)
	gid, _ = strconv.Atoi(g.Gid)
	return uid, gid
}

// privilegedPort returns a loopback address with a free port below 1024,
// which only root may bind.
func privilegedPort(t *testing.T) string {
	t.Helper()
	for p := 1000; p > 600; p-- {
		ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
		if err == nil {
			ln.Close()
			return ln.Addr().String()
		}
	}
	t.Skip("no free port below 1024")
	return ""
}

// publicDir is a temporary directory others may read: files mailproxy
// reads again after dropping privileges (the configuration, on reload).
func publicDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	// t.TempDir's parent, made for the test, is private too.
	for _, d := range []string{dir, filepath.Dir(dir)} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// procIDs returns the Uid, Gid and Groups lines and the effective
// capabilities of every thread of pid.
func procIDs(t *testing.T, pid int) []string {
	t.Helper()
	tasks, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/status", pid))
	if err != nil || len(tasks) == 0 {
		t.Fatalf("no threads of %d: %v", pid, err)
	}
	var out []string
	for _, f := range tasks {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, l := range strings.Split(string(b), "\n") {
			if k, _, _ := strings.Cut(l, ":"); k == "Uid" || k == "Gid" || k == "Groups" || k == "CapEff" || k == "CapPrm" {
				out = append(out, l)
			}
		}
	}
	return out
}

// TestDropPrivileges: started as root with user nobody nogroup, mailproxy
// binds a port below 1024 and its pid and log files, then every thread
// runs as nobody with no capability; it serves a login, reloads (log
// reopened, configuration read as nobody), and at exit empties the pid
// file it can no longer remove.
func TestDropPrivileges(t *testing.T) {
	uid, gid := nobody(t)
	be, err := mailtest.StartIMAPBackend("127.0.0.1:0", map[string]string{"alice": "secret"}, true)
	if err != nil {
		t.Fatal(err)
	}
	defer be.Close()
	listen := privilegedPort(t)
	dir := publicDir(t)
	pid, logFile := filepath.Join(dir, "mailproxy.pid"), filepath.Join(dir, "mailproxy.log")
	yaml := fmt.Sprintf("user: nobody nogroup\npid: %s\nerror_log: %s\n", pid, logFile) + imapConfig(listen, authOK(t, be.Addr()))
	file := filepath.Join(dir, "mailproxy.yaml")
	if err := os.WriteFile(file, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(binary(t), "-c", file)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	waitFor(t, logFile, "mailproxy started")
	log := read(t, logFile)
	if !strings.Contains(log, `msg="privileges dropped" user=nobody group=nogroup uid=`+strconv.Itoa(uid)) {
		t.Fatalf("log:\n%s", log)
	}
	ids := fmt.Sprintf("%d\t%d\t%d\t%d", uid, uid, uid, uid)
	gids := fmt.Sprintf("%d\t%d\t%d\t%d", gid, gid, gid, gid)
	for _, l := range procIDs(t, cmd.Process.Pid) {
		k, v, _ := strings.Cut(l, ":\t")
		want := map[string]string{"Uid": ids, "Gid": gids, "Groups": strconv.Itoa(gid), "CapEff": "0000000000000000", "CapPrm": "0000000000000000"}[k]
		if strings.TrimSpace(v) != want {
			t.Errorf("%s: %q, want %q", k, v, want)
		}
	}
	if st, err := os.Stat(logFile); err != nil || int(st.Sys().(*syscall.Stat_t).Uid) != uid {
		t.Errorf("log file not given to nobody: %v", err)
	}
	c, r := login(t, listen)
	io.WriteString(c, "a2 LOGOUT\r\n")
	for !strings.HasPrefix(readLine(t, c, r), "a2 ") {
	}
	c.Close()
	os.Rename(logFile, logFile+".1")
	if err := os.WriteFile(logFile, nil, 0o640); err != nil {
		t.Fatal(err)
	}
	os.Chown(logFile, uid, gid) // what logrotate's "create 0640 nobody nogroup" does
	cmd.Process.Signal(syscall.SIGHUP)
	waitFor(t, logFile, "configuration reloaded")
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit: %v\n%s", err, read(t, logFile))
		}
	case <-time.After(10 * time.Second):
		t.Fatal("mailproxy did not stop")
	}
	if b, err := os.ReadFile(pid); err != nil || len(b) != 0 {
		t.Errorf("pid file after exit: %q %v (want it emptied: its directory belongs to root)", b, err)
	}
}

// TestRootWithoutUserWarns: running as root without user is worth a
// warning.
func TestRootWithoutUserWarns(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	p := startBinary(t, imapConfig(freePort(t), "127.0.0.1:1"))
	if !strings.Contains(p.stderr.String(), `level=WARN msg="running as root: set user (nginx's user directive) to drop privileges once the listeners are bound"`) {
		t.Fatalf("stderr:\n%s", p.stderr.String())
	}
}

// TestUserIgnoredWhenNotRoot: a process that is not root ignores user
// with a warning, as nginx does, and serves.
func TestUserIgnoredWhenNotRoot(t *testing.T) {
	uid, gid := nobody(t)
	dir := publicDir(t)
	bin := filepath.Join(dir, "mailproxy")
	src, err := os.ReadFile(binary(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, src, 0o755); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "mailproxy.yaml")
	listen := freePort(t)
	if err := os.WriteFile(file, []byte("user: nobody nogroup\n"+imapConfig(listen, "127.0.0.1:1")), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-c", file)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
	p := start(t, cmd)
	if !strings.Contains(p.stderr.String(), `level=WARN msg="the \"user\" key makes sense only when mailproxy starts as root; ignored" user="nobody nogroup"`) {
		t.Fatalf("stderr:\n%s", p.stderr.String())
	}
	c, err := net.Dial("tcp", listen)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	buf := make([]byte, 18)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "* OK IMAP4 ready\r\n" {
		t.Fatalf("greeting %q %v", buf, err)
	}
}

// waitFor waits until file holds text.
func waitFor(t *testing.T, file, text string) {
	t.Helper()
	for end := time.Now().Add(10 * time.Second); !strings.Contains(read(t, file), text); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("no %q in %s:\n%s", text, file, read(t, file))
		}
	}
}

func read(t *testing.T, file string) string {
	b, _ := os.ReadFile(file)
	return string(b)
}
