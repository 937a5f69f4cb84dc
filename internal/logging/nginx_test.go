package logging

import (
	"bytes"
	"errors"
	"log/slog"
	"regexp"
	"strings"
	"testing"
	"time"
)

// nginxLine is how nginx's log tools read an error_log line (the Logstash
// and fail2ban patterns): time, [level], PID#TID:, an optional *CID, the
// message.
var nginxLine = regexp.MustCompile(`^(\d{4}/\d\d/\d\d \d\d:\d\d:\d\d) \[(debug|info|notice|warn|error|crit|alert|emerg)\] (\d+)#(\d+): (\*(\d+) )?(.*)$`)

func TestNginxFormat(t *testing.T) {
	log, buf := newBuf(t, "nginx", "debug")
	log.Log(t.Context(), LevelNotice, "mailproxy/1.2.3")
	sess := log.With(Conn(7), "client", "192.0.2.10:51234", "server", "0.0.0.0:143", "protocol", "imap")
	sess.Debug("client connected")
	sess.Info("session done", "login", "alice", "upstream", "10.0.0.5:143", "bytes_to_backend", 12,
		"duration", 1500*time.Millisecond, "outcome", "client closed", "tls", "")
	sess.Error("upstream login failed", "err", errors.New("EOF"), "upstream", "10.0.0.5:143", "login", `a "b", c`)
	log.Warn("listening", slog.Group("tls", "version", "TLSv1.3"), "ok", true)
	sess.Info("session done", "login", "", "upstream", "")

	want := "" +
		"2026/04/01 09:05:07 [notice] 4242#4242: mailproxy/1.2.3\n" +
		"2026/04/01 09:05:07 [debug] 4242#4242: *7 client connected, protocol: imap, client: 192.0.2.10, server: 0.0.0.0:143\n" +
		"2026/04/01 09:05:07 [info] 4242#4242: *7 session done, bytes_to_backend: 12, duration: 1.5s, outcome: \"client closed\", tls: \"\", protocol: imap, client: 192.0.2.10, server: 0.0.0.0:143, login: \"alice\", upstream: 10.0.0.5:143\n" +
		"2026/04/01 09:05:07 [error] 4242#4242: *7 upstream login failed, err: EOF, protocol: imap, client: 192.0.2.10, server: 0.0.0.0:143, login: \"a \\\"b\\\", c\", upstream: 10.0.0.5:143\n" +
		"2026/04/01 09:05:07 [warn] 4242#4242: listening, tls.version: TLSv1.3, ok: true\n" +
		"2026/04/01 09:05:07 [info] 4242#4242: *7 session done, protocol: imap, client: 192.0.2.10, server: 0.0.0.0:143\n"
	if got := buf.String(); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	for _, line := range strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n") {
		if !nginxLine.MatchString(line) {
			t.Errorf("nginx's tools would not read %q", line)
		}
	}
}

// TestNginxFormatCannotForgeLines: a value or message with a line break
// stays on its line.
func TestNginxFormatCannotForgeLines(t *testing.T) {
	log, buf := newBuf(t, "nginx", "info")
	forged := "x\n2026/04/01 09:05:07 [emerg] 1#1: forged"
	log.Info("bad "+forged, "user", forged, "login", forged, "k\nx", "v")
	got := buf.String()
	if strings.Count(got, "\n") != 1 {
		t.Fatalf("a record took more than one line:\n%s", got)
	}
	if !strings.Contains(got, `bad x\x0A2026`) || !strings.Contains(got, `user: "x\n2026`) {
		t.Errorf("line breaks not escaped: %q", got)
	}
}

func TestNginxFormatRedacts(t *testing.T) {
	log, buf := newBuf(t, "nginx", "debug")
	log.With("auth", slog.GroupValue(slog.String("pass", "hunter2"))).Info("m", "Auth-Pass", "hunter2", "password", []byte("hunter2"))
	if got := buf.String(); strings.Contains(got, "hunter2") || strings.Count(got, Redacted) != 3 {
		t.Errorf("%q", got)
	}
}

func TestNginxFormatLevels(t *testing.T) {
	var buf bytes.Buffer
	log, _, err := fixedOutputs(&buf).Logger("nginx", []Sink{{Destination: "stderr", Level: LevelWarn}})
	if err != nil {
		t.Fatal(err)
	}
	if log.Enabled(t.Context(), LevelNotice) || !log.Enabled(t.Context(), LevelWarn) {
		t.Error("Enabled does not follow the sink's level")
	}
	log.Info("hidden")
	log.Log(t.Context(), LevelAlert, "shown")
	if got := buf.String(); got != "2026/04/01 09:05:07 [alert] 4242#4242: shown\n" {
		t.Errorf("%q", got)
	}
}
