package logging

import (
	"log/slog"
	"strings"
	"testing"
)

type secret string

func (s secret) LogValue() slog.Value { return slog.StringValue(string(s)) }

type creds struct{ user, pass string }

func (c creds) LogValue() slog.Value {
	return slog.GroupValue(slog.String("user", c.user), slog.String("password", c.pass))
}

func TestRedaction(t *testing.T) {
	const pw = "hunter2"
	for _, format := range []string{"text", "json"} {
		log, buf := newBuf(t, format, "debug")
		log.Debug("a", "password", pw)
		log.Info("b", "PASS", pw)
		log.Warn("c", "Auth_Pass", pw)
		log.Error("d", "Auth-Pass", pw)
		log.Info("e", slog.Group("req", "auth_pass", pw, "user", "alice"))
		log.Info("f", slog.Group("password", "value", pw))
		log.Info("g", "pass", secret(pw))
		log.Info("h", "login", creds{"alice", pw})
		log.With("password", pw).Info("i")
		log.WithGroup("auth").Info("j", "pass", pw)
		log.Info("k", "pass", []byte(pw), "password", 424242424242)
		out := buf.String()
		if strings.Contains(out, pw) || strings.Contains(out, "424242424242") {
			t.Errorf("%s: password leaked:\n%s", format, out)
		}
		if n := strings.Count(out, Redacted); n != 12 {
			t.Errorf("%s: %d redactions, want 12:\n%s", format, n, out)
		}
		if !strings.Contains(out, "alice") {
			t.Errorf("%s: other attributes lost:\n%s", format, out)
		}
	}
}

func TestRedactLeavesOtherKeys(t *testing.T) {
	for _, k := range []string{"user", "passwd_hint", "passage", "bypass", "msg", "auth_user"} {
		a := Redact(nil, slog.String(k, "v"))
		if a.Value.String() != "v" {
			t.Errorf("key %q redacted", k)
		}
	}
}
