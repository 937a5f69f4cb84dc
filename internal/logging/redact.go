package logging

import (
	"log/slog"
	"strings"
)

// Redacted replaces the value of a sensitive attribute.
const Redacted = "[redacted]"

// Redact is the ReplaceAttr of every handler New builds: an attribute
// whose key is "password", "pass" or "auth_pass" — any case, '-' taken as
// '_' (so "Auth-Pass" too) — or that sits inside a group with such a key,
// has its value replaced by "[redacted]". Other attributes pass unchanged.
func Redact(groups []string, a slog.Attr) slog.Attr {
	if sensitive(a.Key) {
		return slog.String(a.Key, Redacted)
	}
	for _, g := range groups {
		if sensitive(g) {
			return slog.String(a.Key, Redacted)
		}
	}
	return a
}

func sensitive(key string) bool {
	switch strings.ReplaceAll(strings.ToLower(key), "-", "_") {
	case "password", "pass", "auth_pass":
		return true
	}
	return false
}
