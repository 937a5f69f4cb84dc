package main

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"mailproxy/config"
)

// fakeSyscalls makes dropPrivileges see a root process and record its
// calls in calls; setuid fails with failUID when not nil.
func fakeSyscalls(t *testing.T, calls *[]string, failUID error) {
	e, sgs, sg, su, ch := geteuid, setgroups, setgid, setuid, chown
	t.Cleanup(func() { geteuid, setgroups, setgid, setuid, chown = e, sgs, sg, su, ch })
	geteuid = func() int { return 0 }
	setgroups = func(g []int) error { *calls = append(*calls, fmt.Sprintf("setgroups %v", g)); return nil }
	setgid = func(g int) error { *calls = append(*calls, fmt.Sprintf("setgid %d", g)); return nil }
	setuid = func(u int) error { *calls = append(*calls, fmt.Sprintf("setuid %d", u)); return failUID }
	chown = func(f string, u, g int) error {
		*calls = append(*calls, fmt.Sprintf("chown %s %d %d", filepath.Base(f), u, g))
		return nil
	}
}

// TestDropPrivilegesOrder: the files written later are given to the user
// first, then the groups, the group and the user are set, in that order;
// a failure is an error (the caller does not start).
func TestDropPrivilegesOrder(t *testing.T) {
	var calls []string
	fakeSyscalls(t, &calls, syscall.EPERM)
	cfg := &config.Config{User: &config.User{Name: "no-such-user-here", Group: "g", UID: 4242, GID: 4343}, PID: "/run/x.pid", ErrorLog: []config.LogSink{{Destination: "/var/log/x.log"}, {Destination: "stderr"}, {Destination: "syslog:server=127.0.0.1"}}}
	err := dropPrivileges(cfg, slog.New(slog.DiscardHandler))
	if err == nil || !errors.Is(err, syscall.EPERM) || !strings.Contains(err.Error(), "setuid(4242)") {
		t.Fatalf("err %v", err)
	}
	want := []string{"chown x.pid 4242 4343", "chown x.log 4242 4343", "setgroups [4343]", "setgid 4343", "setuid 4242"}
	if fmt.Sprint(calls) != fmt.Sprint(want) {
		t.Fatalf("calls %v, want %v", calls, want)
	}
}

// TestDropPrivilegesNotDropped: set ids that did not take (the process
// is not really that user) are an error.
func TestDropPrivilegesNotDropped(t *testing.T) {
	var calls []string
	fakeSyscalls(t, &calls, nil)
	cfg := &config.Config{User: &config.User{Name: "x", Group: "x", UID: os.Getuid() + 4242, GID: 4343}, ErrorLog: []config.LogSink{{Destination: "stderr"}}}
	if err := dropPrivileges(cfg, slog.New(slog.DiscardHandler)); err == nil || !strings.Contains(err.Error(), "after switching to") {
		t.Fatalf("err %v", err)
	}
}

// TestRefusesToStartWhenTheDropFails: mailproxy does not serve when it
// cannot drop privileges: exit status 1 and a clear log line.
func TestRefusesToStartWhenTheDropFails(t *testing.T) {
	var calls []string
	fakeSyscalls(t, &calls, syscall.EPERM)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	file := filepath.Join(t.TempDir(), "m.yaml")
	os.WriteFile(file, []byte("user: root\nservers: [{protocol: imap, auth_http: 127.0.0.1:1, listen: [\""+addr+"\"]}]\n"), 0o600)
	var out, errb bytes.Buffer
	if code := run([]string{"-c", file}, &out, &errb); code != exitFail {
		t.Fatalf("exit %d\n%s", code, errb.String())
	}
	if !strings.Contains(errb.String(), `level=ERROR msg="cannot drop privileges; not starting" err="setuid(0): operation not permitted"`) {
		t.Fatalf("stderr:\n%s", errb.String())
	}
	if c, err := net.Dial("tcp", addr); err == nil {
		c.Close()
		t.Fatal("still listening")
	}
}
