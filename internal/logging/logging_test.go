package logging

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// fixedTime is the clock of fixedOutputs.
var fixedTime = time.Date(2026, 4, 1, 9, 5, 7, 0, time.Local)

// fixedOutputs returns Outputs writing "stderr" to buf, with a fixed
// clock, PID and host name.
func fixedOutputs(buf io.Writer) *Outputs {
	o := NewOutputs(buf)
	o.pid = 4242
	o.hostname = "mx1"
	o.now = func() time.Time { return fixedTime }
	return o
}

func newBuf(t *testing.T, format, level string) (*slog.Logger, *bytes.Buffer) {
	t.Helper()
	var buf bytes.Buffer
	lv, err := ParseLevel(level)
	if err != nil {
		t.Fatal(err)
	}
	log, _, err := fixedOutputs(&buf).Logger(format, []Sink{{Destination: "stderr", Level: lv}})
	if err != nil {
		t.Fatal(err)
	}
	return log, &buf
}

func TestTextFormat(t *testing.T) {
	for _, format := range []string{"", "text", "TEXT"} {
		log, buf := newBuf(t, format, "")
		log.With(Conn(3)).Info("session done", "login", "alice", "outcome", "client closed")
		out := buf.String()
		if !strings.Contains(out, `level=INFO msg="session done" login=alice outcome="client closed"`+"\n") || strings.Contains(out, "*") {
			t.Errorf("format %q: %q", format, out)
		}
	}
}

func TestJSONFormat(t *testing.T) {
	log, buf := newBuf(t, "json", "info")
	log.With(Conn(3)).Info("session done", "login", "alice", "bytes", 12)
	var rec map[string]any
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
		t.Fatalf("not JSON: %v: %q", err, buf)
	}
	if rec["msg"] != "session done" || rec["level"] != "INFO" || rec["login"] != "alice" || rec["bytes"] != 12.0 || len(rec) != 5 {
		t.Errorf("record = %v", rec)
	}
}

// TestSlogLevelNames: nginx's levels that slog has no name for are
// written with nginx's name in the text and JSON formats; slog's own four
// keep theirs.
func TestSlogLevelNames(t *testing.T) {
	log, buf := newBuf(t, "text", "debug")
	for _, l := range []slog.Level{LevelDebug, LevelInfo, LevelNotice, LevelWarn, LevelError, LevelCrit, LevelAlert, LevelEmerg} {
		log.Log(t.Context(), l, "m")
	}
	var got []string
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		f := strings.Fields(line)
		got = append(got, strings.TrimPrefix(f[1], "level="))
	}
	if want := "DEBUG INFO NOTICE WARN ERROR CRIT ALERT EMERG"; strings.Join(got, " ") != want {
		t.Errorf("levels %v, want %s", got, want)
	}
}

func TestParseLevel(t *testing.T) {
	for name, want := range map[string]slog.Level{
		"": LevelInfo, "debug": LevelDebug, "INFO": LevelInfo, "notice": LevelNotice, "warn": LevelWarn,
		"error": LevelError, "crit": LevelCrit, "alert": LevelAlert, "Emerg": LevelEmerg,
	} {
		if got, err := ParseLevel(name); err != nil || got != want {
			t.Errorf("ParseLevel(%q) = %v, %v", name, got, err)
		}
	}
	for _, bad := range []string{"verbose", "warning", "err", "debug_mail"} {
		if _, err := ParseLevel(bad); err == nil {
			t.Errorf("ParseLevel(%q) accepted", bad)
		}
	}
	// A record between two levels is shown as the lower one.
	for l, want := range map[slog.Level]string{-8: "debug", -1: "debug", 1: "info", 3: "notice", 7: "warn", 11: "error", 15: "crit", 19: "alert", 40: "emerg"} {
		if got := LevelName(l); got != want {
			t.Errorf("LevelName(%d) = %s, want %s", l, got, want)
		}
	}
}

// TestSinkLevels: each sink takes its own level and more severe records,
// as each error_log of an nginx context does.
func TestSinkLevels(t *testing.T) {
	dir := t.TempDir()
	debugLog, errorLog := filepath.Join(dir, "debug.log"), filepath.Join(dir, "error.log")
	var stderr bytes.Buffer
	log, release, err := fixedOutputs(&stderr).Logger("nginx", []Sink{
		{Destination: debugLog, Level: LevelDebug},
		{Destination: errorLog, Level: LevelError},
		{Destination: "stderr", Level: LevelNotice},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range []slog.Level{LevelDebug, LevelInfo, LevelNotice, LevelWarn, LevelError, LevelCrit} {
		log.Log(t.Context(), l, LevelName(l))
	}
	release()
	msgs := func(s string) string {
		var out []string
		for _, line := range strings.Split(strings.TrimSpace(s), "\n") {
			out = append(out, line[strings.LastIndexByte(line, ' ')+1:])
		}
		return strings.Join(out, " ")
	}
	for _, c := range []struct{ name, got, want string }{
		{"debug sink", read(t, debugLog), "debug info notice warn error crit"},
		{"error sink", read(t, errorLog), "error crit"},
		{"stderr sink", stderr.String(), "notice warn error crit"},
	} {
		if msgs(c.got) != c.want {
			t.Errorf("%s got %q, want %q", c.name, msgs(c.got), c.want)
		}
	}
}

func TestBadArguments(t *testing.T) {
	o := NewOutputs(io.Discard)
	if _, _, err := o.Logger("xml", nil); err == nil {
		t.Error("format xml accepted")
	}
	missing := filepath.Join(t.TempDir(), "no", "such", "dir.log")
	_, _, err := o.Logger("text", []Sink{{Destination: "stderr"}, {Destination: missing}})
	if err == nil {
		t.Fatal("unopenable file accepted")
	}
	if want := "error_log " + missing + ": no such file or directory"; err.Error() != want {
		t.Errorf("error %q, want %q (one prefix, the path once)", err, want)
	}
	if len(o.open) != 0 {
		t.Errorf("left open after a failure: %v", o.open)
	}
	if _, _, err := o.Logger("text", []Sink{{Destination: "syslog:facility=mail"}}); err == nil || !strings.Contains(err.Error(), "no syslog server specified") {
		t.Errorf("syslog without server: %v", err)
	}
}

func TestNilStderrMeansOSStderr(t *testing.T) {
	if o := NewOutputs(nil); o.stderr != os.Stderr {
		t.Error("nil stderr is not os.Stderr")
	}
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestFileAppendsWithMode0640(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mailproxy.log")
	if err := os.WriteFile(path, []byte("old line\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	o := NewOutputs(io.Discard)
	log, release, err := o.Logger("text", []Sink{{Destination: path}})
	if err != nil {
		t.Fatal(err)
	}
	log.Info("first")
	release()
	if out := read(t, path); !strings.HasPrefix(out, "old line\n") || !strings.Contains(out, "msg=first") {
		t.Errorf("not appended: %q", out)
	}

	fresh := filepath.Join(t.TempDir(), "new.log")
	_, release, err = o.Logger("json", []Sink{{Destination: fresh}})
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	st, err := os.Stat(fresh)
	if err != nil {
		t.Fatal(err)
	}
	if perm := st.Mode().Perm(); perm&^0o640 != 0 {
		t.Errorf("new log file mode %o, want at most 0640", perm)
	}
}

// TestSharedOutputs: a file named by two loggers is opened once, and
// closed only when both are released.
func TestSharedOutputs(t *testing.T) {
	path := filepath.Join(t.TempDir(), "shared.log")
	o := NewOutputs(io.Discard)
	a, releaseA, err := o.Logger("text", []Sink{{Destination: path}})
	if err != nil {
		t.Fatal(err)
	}
	b, releaseB, err := o.Logger("text", []Sink{{Destination: path}, {Destination: "stderr"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(o.open) != 2 || o.open[path].refs != 2 {
		t.Fatalf("open outputs %v", o.open)
	}
	out := o.open[path]
	releaseA()
	releaseA() // a second call does nothing
	b.Info("from b")
	if out.closed {
		t.Fatal("closed while b still uses it")
	}
	releaseB()
	if !out.closed || len(o.open) != 0 {
		t.Fatalf("not closed after the last release: %v", o.open)
	}
	a.Info("after close") // dropped, no panic
	if got := read(t, path); !strings.Contains(got, "from b") || strings.Contains(got, "after close") {
		t.Errorf("%q", got)
	}
}

func TestReopenAfterRename(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "mailproxy.log")
	o := NewOutputs(io.Discard)
	log, release, err := o.Logger("text", []Sink{{Destination: path}})
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	log.Info("before rotation")
	rotated := path + ".1"
	if err := os.Rename(path, rotated); err != nil {
		t.Fatal(err)
	}
	log.Info("after rename")
	if err := o.Reopen(); err != nil {
		t.Fatal(err)
	}
	log.Info("after reopen")

	old, cur := read(t, rotated), read(t, path)
	if !strings.Contains(old, "before rotation") || !strings.Contains(old, "after rename") || strings.Contains(old, "after reopen") {
		t.Errorf("rotated file: %q", old)
	}
	if !strings.Contains(cur, "after reopen") || strings.Contains(cur, "before rotation") {
		t.Errorf("new file: %q", cur)
	}
}

func TestReopenFailureKeepsOldFile(t *testing.T) {
	dir := t.TempDir()
	sub := filepath.Join(dir, "logs")
	os.Mkdir(sub, 0o755)
	path := filepath.Join(sub, "mailproxy.log")
	o := NewOutputs(io.Discard)
	log, release, err := o.Logger("text", []Sink{{Destination: path}})
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	moved := filepath.Join(dir, "moved")
	if err := os.Rename(sub, moved); err != nil {
		t.Fatal(err)
	}
	if err := o.Reopen(); err == nil {
		t.Fatal("Reopen into a missing directory succeeded")
	} else if want := "error_log " + path + ": no such file or directory"; err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
	log.Info("still logged")
	if out := read(t, filepath.Join(moved, "mailproxy.log")); !strings.Contains(out, "still logged") {
		t.Errorf("%q", out)
	}
}

func TestReopenWhileLogging(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mailproxy.log")
	o := NewOutputs(io.Discard)
	log, release, err := o.Logger("json", []Sink{{Destination: path}})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 200 {
				log.Info("line", "k", strings.Repeat("x", 100))
			}
		})
	}
	for range 20 {
		if err := o.Reopen(); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	release()
	lines := strings.Split(strings.TrimSpace(read(t, path)), "\n")
	if len(lines) != 800 {
		t.Fatalf("%d lines, want 800", len(lines))
	}
	for _, l := range lines {
		if !json.Valid([]byte(l)) {
			t.Fatalf("torn line %q", l)
		}
	}
}

func TestStderrReopenAndReleaseAreHarmless(t *testing.T) {
	var buf bytes.Buffer
	o := NewOutputs(&buf)
	log, release, err := o.Logger("text", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := o.Reopen(); err != nil {
		t.Fatal(err)
	}
	log.Info("x")
	if buf.Len() == 0 {
		t.Error("nothing written")
	}
	release()
	log2, release2, err := o.Logger("text", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer release2()
	log2.Info("y")
	if !strings.Contains(buf.String(), "msg=y") {
		t.Errorf("stderr unusable after a release: %q", buf.String())
	}
}
