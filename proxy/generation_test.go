package proxy_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"mailproxy/config"
	"mailproxy/internal/logging"
	"mailproxy/internal/mailtest"
	"mailproxy/proxy"
)

// genConfig is a one-server IMAP configuration whose CAPABILITY names
// tag (so a session shows which configuration serves it), with extra
// top-level lines.
func genConfig(t *testing.T, auth, tag, listen, top string) *config.Config {
	t.Helper()
	y := fmt.Sprintf("%sservers:\n  - protocol: imap\n    auth_http: http://%s/auth\n    imap_capabilities: [IMAP4rev1, %s]\n    listen: [%q]\n", top, auth, tag, listen)
	cfg, err := config.Parse(filepath.Join(t.TempDir(), "g.yaml"), []byte(y))
	must(t, err)
	setTestEngine(cfg, y)
	return cfg
}

// recordingLogs is a LogsFunc whose loggers write to one buffer per
// configuration (named by its CAPABILITY tag) and which records releases.
type recordingLogs struct {
	mu       sync.Mutex
	bufs     map[string]*mailtest.SyncBuffer
	released map[string]int
	fail     bool
}

func (r *recordingLogs) build(cfg *config.Config) (proxy.Logs, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail {
		return proxy.Logs{}, errors.New("error_log /nowhere/x.log: no such file or directory")
	}
	tag := cfg.Servers[0].IMAPCapabilities[1]
	buf := &mailtest.SyncBuffer{}
	r.bufs[tag] = buf
	log := slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	return proxy.Logs{
		Main:    log.With("logger", "main"),
		Servers: []*slog.Logger{log.With("logger", "server")},
		Release: func() { r.mu.Lock(); r.released[tag]++; r.mu.Unlock() },
	}, nil
}

func (r *recordingLogs) buf(tag string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.bufs[tag].String()
}

func (r *recordingLogs) releases(tag string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.released[tag]
}

// TestReloadSwitchesLogs: each configuration logs through the loggers
// SetLogs built for it — the server's own messages to Main, sessions to
// their server's — a session keeps its configuration's loggers after a
// reload, and the old loggers are released when its last session ends,
// not before. A LogsFunc failure fails the reload and changes nothing.
func TestReloadSwitchesLogs(t *testing.T) {
	be := startIMAPBackend(t)
	auth := startAuth(t, okTo(be.Addr()))
	addr := freeAddr(t)
	srv, err := proxy.New(genConfig(t, auth.addr(), "ONE", addr, ""), testLogger())
	must(t, err)
	rec := &recordingLogs{bufs: map[string]*mailtest.SyncBuffer{}, released: map[string]int{}}
	must(t, srv.SetLogs(rec.build))
	must(t, srv.Listen())
	done := make(chan struct{})
	go func() { srv.Serve(); close(done) }()
	t.Cleanup(func() { srv.Close(); <-done })

	old := dialRaw(t, addr)
	old.expect("* OK IMAP4 ready\r\n")
	rec.fail = true
	if err := srv.Reload(genConfig(t, auth.addr(), "BAD", addr, "")); err == nil || !strings.Contains(err.Error(), "error_log /nowhere") {
		t.Fatalf("reload with failing logs: %v", err)
	}
	rec.fail = false
	must(t, srv.Reload(genConfig(t, auth.addr(), "TWO", addr, "")))
	if n := rec.releases("ONE"); n != 0 {
		t.Fatalf("old logs released %d times while a session of theirs is open", n)
	}
	fresh := dialRaw(t, addr)
	fresh.expect("* OK IMAP4 ready\r\n")
	fresh.send("a LOGIN alice secret\r\na2 LOGOUT\r\n")
	old.send("b LOGIN alice secret\r\nb2 LOGOUT\r\n")
	waitFor(t, func() bool {
		return strings.Count(rec.buf("ONE"), `msg="session done"`) == 1 && strings.Count(rec.buf("TWO"), `msg="session done"`) == 1
	}, "a summary line in each configuration's log")
	waitFor(t, func() bool { return rec.releases("ONE") == 1 }, "the old logs released after their last session")
	one, two := rec.buf("ONE"), rec.buf("TWO")
	if !strings.Contains(one, "msg=listening logger=main") || !strings.Contains(one, `msg="session done" logger=server`) {
		t.Errorf("first configuration's log:\n%s", one)
	}
	if strings.Contains(two, "msg=listening") || !strings.Contains(two, `msg="session done" logger=server`) {
		t.Errorf("second configuration's log:\n%s", two)
	}
	if rec.releases("BAD") != 0 || rec.releases("TWO") != 0 {
		t.Errorf("releases: BAD %d, TWO %d", rec.releases("BAD"), rec.releases("TWO"))
	}
	if srv.Logger() == nil {
		t.Error("no server logger")
	}
}

// TestWorkerShutdownTimeout: after a reload, the sessions of a
// configuration with worker_shutdown_timeout are closed once it has
// passed — before login and spliced alike — while the new
// configuration's sessions carry on; without it (shutdown_timeout, or
// nothing) old sessions are never cut.
func TestWorkerShutdownTimeout(t *testing.T) {
	be := startIMAPBackend(t)
	auth := startAuth(t, okTo(be.Addr()))
	addr := freeAddr(t)
	var logs mailtest.SyncBuffer
	srv, err := proxy.New(genConfig(t, auth.addr(), "ONE", addr, "worker_shutdown_timeout: 500ms\n"), slog.New(slog.NewTextHandler(&logs, nil)))
	must(t, err)
	must(t, srv.Listen())
	done := make(chan struct{})
	go func() { srv.Serve(); close(done) }()
	t.Cleanup(func() { srv.Close(); <-done })

	login := func() *rawConn {
		c := dialRaw(t, addr)
		c.expect("* OK IMAP4 ready\r\n")
		c.send("a LOGIN alice secret\r\n")
		c.c.SetReadDeadline(deadline())
		if l, err := c.r.ReadString('\n'); err != nil || !strings.HasPrefix(l, "a OK") {
			t.Fatalf("login: %q %v", l, err)
		}
		return c
	}
	spliced := login()
	preauth := dialRaw(t, addr)
	preauth.expect("* OK IMAP4 ready\r\n")

	must(t, srv.Reload(genConfig(t, auth.addr(), "TWO", addr, "shutdown_timeout: 200ms\n")))
	start := time.Now()
	newer := login()
	spliced.expectClosed()
	preauth.expectClosed()
	if d := time.Since(start); d < 400*time.Millisecond {
		t.Errorf("old sessions closed after %v, before worker_shutdown_timeout", d)
	}
	if !strings.Contains(logs.String(), `msg="worker_shutdown_timeout: closing the sessions of a previous configuration" sessions=2 worker_shutdown_timeout=500ms`) {
		t.Errorf("log:\n%s", logs.String())
	}

	// TWO has only shutdown_timeout: its sessions outlive a reload.
	must(t, srv.Reload(genConfig(t, auth.addr(), "THREE", addr, "")))
	time.Sleep(700 * time.Millisecond)
	newer.send("b NOOP\r\n")
	newer.expect("b OK ")
	if got := srv.Sessions(); got != 1 {
		t.Errorf("%d sessions open, want 1", got)
	}
}

// TestSessionNumbers: every line of a session carries its number, which
// the nginx format prints as *N; numbers increase across sessions.
func TestSessionNumbers(t *testing.T) {
	auth := startAuth(t, failAuth)
	addr := freeAddr(t)
	var buf mailtest.SyncBuffer
	outs := logging.NewOutputs(&buf)
	defer outs.Close()
	log, release, err := outs.Logger("nginx", []logging.Sink{{Destination: "stderr", Level: logging.LevelDebug}})
	must(t, err)
	defer release()
	srv, err := proxy.New(genConfig(t, auth.addr(), "ONE", addr, ""), log)
	must(t, err)
	must(t, srv.Listen())
	done := make(chan struct{})
	go func() { srv.Serve(); close(done) }()
	t.Cleanup(func() { srv.Close(); <-done })
	for i := range 2 {
		c := dialRaw(t, addr)
		c.expect("* OK IMAP4 ready\r\n")
		c.send("z LOGOUT\r\n")
		c.expect("* BYE")
		waitFor(t, func() bool { return strings.Count(buf.String(), "session done") == i+1 }, "the session logged")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	srv.Shutdown(ctx)
	var got []string
	for _, line := range strings.Split(buf.String(), "\n") {
		if i := strings.Index(line, ": *"); i > 0 {
			f := strings.Fields(line[i+2:])
			got = append(got, f[0]+" "+f[1]+" "+f[2])
		}
	}
	want := "*1 client connected,|*1 session done,|*2 client connected,|*2 session done,"
	if strings.Join(got, "|") != want {
		t.Errorf("session lines %q, want %q\n%s", got, want, buf.String())
	}
}
