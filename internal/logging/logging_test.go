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
)

func newBuf(t *testing.T, format, level string) (*slog.Logger, *bytes.Buffer, io.Closer) {
	t.Helper()
	var buf bytes.Buffer
	log, c, err := New(format, level, "stderr", &buf)
	if err != nil {
		t.Fatal(err)
	}
	return log, &buf, c
}

func TestTextFormat(t *testing.T) {
	for _, format := range []string{"", "text", "TEXT"} {
		log, buf, _ := newBuf(t, format, "")
		log.Info("session done", "login", "alice", "outcome", "client closed")
		out := buf.String()
		if !strings.Contains(out, `level=INFO msg="session done" login=alice outcome="client closed"`) {
			t.Errorf("format %q: %q", format, out)
		}
	}
}

func TestJSONFormat(t *testing.T) {
	log, buf, _ := newBuf(t, "json", "info")
	log.Info("session done", "login", "alice", "bytes", 12)
	var rec map[string]any
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
		t.Fatalf("not JSON: %v: %q", err, buf)
	}
	if rec["msg"] != "session done" || rec["level"] != "INFO" || rec["login"] != "alice" || rec["bytes"] != 12.0 {
		t.Errorf("record = %v", rec)
	}
}

func TestLevels(t *testing.T) {
	cases := []struct {
		level string
		want  []string // messages that appear
	}{
		{"debug", []string{"d", "i", "w", "e"}},
		{"", []string{"i", "w", "e"}},
		{"info", []string{"i", "w", "e"}},
		{"WARN", []string{"w", "e"}},
		{"error", []string{"e"}},
	}
	for _, c := range cases {
		log, buf, _ := newBuf(t, "json", c.level)
		log.Debug("d")
		log.Info("i")
		log.Warn("w")
		log.Error("e")
		var got []string
		dec := json.NewDecoder(buf)
		for dec.More() {
			var rec struct{ Msg string }
			if err := dec.Decode(&rec); err != nil {
				t.Fatal(err)
			}
			got = append(got, rec.Msg)
		}
		if strings.Join(got, ",") != strings.Join(c.want, ",") {
			t.Errorf("level %q logged %v, want %v", c.level, got, c.want)
		}
	}
}

func TestSetLevel(t *testing.T) {
	log, buf, c := newBuf(t, "text", "info")
	log.Debug("hidden")
	if err := c.(*Handle).SetLevel("debug"); err != nil {
		t.Fatal(err)
	}
	log.Debug("shown")
	if err := c.(*Handle).SetLevel("loud"); err == nil {
		t.Error("SetLevel accepted a bad level")
	}
	if out := buf.String(); strings.Contains(out, "hidden") || !strings.Contains(out, "shown") {
		t.Errorf("%q", out)
	}
}

func TestBadArguments(t *testing.T) {
	if _, _, err := New("xml", "info", "stderr", io.Discard); err == nil {
		t.Error("format xml accepted")
	}
	if _, _, err := New("text", "verbose", "stderr", io.Discard); err == nil {
		t.Error("level verbose accepted")
	}
	if _, _, err := New("text", "info", filepath.Join(t.TempDir(), "no", "such", "dir.log"), io.Discard); err == nil {
		t.Error("unopenable file accepted")
	}
}

func TestNilStderrMeansOSStderr(t *testing.T) {
	_, c, err := New("text", "info", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.(*Handle).w != os.Stderr {
		t.Error("nil stderr is not os.Stderr")
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := Reopen(c); err != os.ErrClosed {
		t.Errorf("Reopen after Close = %v", err)
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
	log, c, err := New("text", "info", path, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	log.Info("first")
	c.Close()
	if out := read(t, path); !strings.HasPrefix(out, "old line\n") || !strings.Contains(out, "msg=first") {
		t.Errorf("not appended: %q", out)
	}

	fresh := filepath.Join(t.TempDir(), "new.log")
	_, c, err = New("json", "info", fresh, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	st, err := os.Stat(fresh)
	if err != nil {
		t.Fatal(err)
	}
	if perm := st.Mode().Perm(); perm&^0o640 != 0 {
		t.Errorf("new log file mode %o, want at most 0640", perm)
	}
}

func TestReopenAfterRename(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "mailproxy.log")
	log, c, err := New("text", "info", path, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	log.Info("before rotation")
	rotated := path + ".1"
	if err := os.Rename(path, rotated); err != nil {
		t.Fatal(err)
	}
	log.Info("after rename")
	if err := Reopen(c); err != nil {
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
	log, c, err := New("text", "info", path, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	moved := filepath.Join(dir, "moved")
	if err := os.Rename(sub, moved); err != nil {
		t.Fatal(err)
	}
	if err := Reopen(c); err == nil {
		t.Fatal("Reopen into a missing directory succeeded")
	}
	log.Info("still logged")
	if out := read(t, filepath.Join(moved, "mailproxy.log")); !strings.Contains(out, "still logged") {
		t.Errorf("%q", out)
	}
}

func TestReopenWhileLogging(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mailproxy.log")
	log, c, err := New("json", "info", path, io.Discard)
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
		if err := Reopen(c); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	c.Close()
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

func TestStderrReopenAndCloseAreHarmless(t *testing.T) {
	log, buf, c := newBuf(t, "text", "info")
	if err := Reopen(c); err != nil {
		t.Fatal(err)
	}
	log.Info("x")
	if buf.Len() == 0 {
		t.Error("nothing written")
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
}
