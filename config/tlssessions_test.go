package config

import (
	"bytes"
	"strings"
	"testing"

	"mailproxy/internal/pkitest"
	mailtls "mailproxy/tls"
)

func TestSessionCacheValue(t *testing.T) {
	cases := []struct {
		in   []string
		want mailtls.SessionCache
		off  bool
	}{
		{[]string{"none"}, mailtls.SessionCache{}, false},
		{[]string{"off"}, mailtls.SessionCache{}, true},
		{[]string{"builtin"}, mailtls.SessionCache{Size: 20480}, false},
		{[]string{"builtin:1000"}, mailtls.SessionCache{Size: 1000}, false},
		{[]string{"shared:SSL:1m"}, mailtls.SessionCache{Shared: "SSL", Size: 4096}, false},
		{[]string{"builtin:1000", "shared:MAIL:10m"}, mailtls.SessionCache{Shared: "MAIL", Size: 40960}, false},
		{[]string{"shared:MAIL:10m", "builtin:1000"}, mailtls.SessionCache{Shared: "MAIL", Size: 40960}, false},
		{[]string{"shared:tiny:100"}, mailtls.SessionCache{Shared: "tiny", Size: 1}, false},
	}
	for _, c := range cases {
		got, off := sessionCache(c.in)
		if got != c.want || off != c.off {
			t.Errorf("%q: %+v off=%v, want %+v off=%v", c.in, got, off, c.want, c.off)
		}
	}
}

// tlsSessionConfig is a server with implicit TLS and the given lines.
func tlsSessionConfig(t *testing.T, lines ...string) string {
	f := newFixtures(t)
	ticket := pkitest.Write(t, f.dir, "ticket.key", bytes.Repeat([]byte{7}, 48))
	text := y(append([]string{
		"mail:",
		"  auth_http: 127.0.0.1:9000",
		"  ssl_certificate: CERT",
		"  ssl_certificate_key: KEY",
		"servers:",
		"  - listen: [127.0.0.1:993 ssl]",
		"    protocol: imap",
	}, lines...)...)
	return strings.ReplaceAll(f.sub(text), "TICKET", ticket)
}

// TestSessionStoreKey: ssl_session_store at mail or server level, checked
// with kvstore's rules and refused without ssl_session_ticket_key, each
// problem at its line.
func TestSessionStoreKey(t *testing.T) {
	cfg := mustParse(t, tlsSessionConfig(t,
		"    ssl_session_tickets: off",
		"    ssl_session_ticket_key: TICKET",
		"    ssl_session_store: redis://127.0.0.1:6379/0",
	))
	s := cfg.Servers[0]
	if s.SSLSessionStore != "redis://127.0.0.1:6379/0" || s.TLSSessions == nil || s.TLS.SessionTicketsDisabled {
		t.Fatalf("store %q, sessions %v", s.SSLSessionStore, s.TLSSessions)
	}
	for text, want := range map[string]string{
		tlsSessionConfig(t, "    ssl_session_store: http://x"):                                            "test.yaml:8: ssl_session_store: store \"http://x\": the scheme must be redis:// or rediss://",
		tlsSessionConfig(t, "    ssl_session_store: \"\""):                                                "test.yaml:8: ssl_session_store: must not be empty",
		tlsSessionConfig(t, "    ssl_session_store: redis://h"):                                           "test.yaml:8: ssl_session_store needs ssl_session_ticket_key",
		strings.Replace(tlsSessionConfig(t), "servers:", "  ssl_session_store: redis://h:1\nservers:", 1): "test.yaml:5: ssl_session_store needs ssl_session_ticket_key",
	} {
		_, err := Parse("test.yaml", []byte(text))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("err = %v, want %s", err, want)
		}
	}
}

// TestSessionCacheBuilds: by default (tickets on) and with tickets off and
// no cache the server keeps no sessions; tickets off with a cache keeps
// them in memory.
func TestSessionCacheBuilds(t *testing.T) {
	for lines, want := range map[string]bool{
		"":                               false,
		"    ssl_session_cache: builtin": false, // tickets on: stateless tickets
		"    ssl_session_tickets: off":   false,
		"    ssl_session_tickets: off\n    ssl_session_cache: shared:SSL:1m":                                                               true,
		"    ssl_session_tickets: off\n    ssl_session_cache: builtin:10":                                                                  true,
		"    ssl_session_tickets: off\n    ssl_session_cache: off\n    ssl_session_ticket_key: TICKET\n    ssl_session_store: redis://h:1": false,
	} {
		cfg := mustParse(t, tlsSessionConfig(t, lines))
		s := cfg.Servers[0]
		if (s.TLSSessions != nil) != want {
			t.Errorf("%q: sessions %v, want %v", lines, s.TLSSessions, want)
		}
	}
}
