// Package logging builds mailproxy's *slog.Logger from the configuration:
// log_format (text or json), log_level and error_log (stderr or a file
// that can be reopened after rotation). Every logger it builds redacts
// password attributes (see Redact) as a last line of defence: the proxy
// already never logs a password.
package logging

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
)

// New returns a logger writing format ("text", the default when empty, or
// "json": slog's TextHandler or JSONHandler) at level ("debug", "info" —
// the default when empty —, "warn" or "error", any case) to destination:
// "stderr" (or empty) for the stderr argument (os.Stderr when nil), else
// a file path opened for append and created with mode 0640.
//
// The io.Closer is a *Handle: Close closes the file (never stderr);
// Reopen (e.g. on SIGHUP, after logrotate renamed the file) opens the path
// again; SetLevel changes the level of the returned logger. A bad format
// or level, or a file that cannot be opened, is an error and nothing is
// left open.
func New(format, level, destination string, stderr io.Writer) (*slog.Logger, io.Closer, error) {
	lv, err := ParseLevel(level)
	if err != nil {
		return nil, nil, err
	}
	h := &Handle{}
	h.level.Set(lv)
	opts := &slog.HandlerOptions{Level: &h.level, ReplaceAttr: Redact}
	var mk func(io.Writer, *slog.HandlerOptions) slog.Handler
	switch strings.ToLower(format) {
	case "", "text":
		mk = func(w io.Writer, o *slog.HandlerOptions) slog.Handler { return slog.NewTextHandler(w, o) }
	case "json":
		mk = func(w io.Writer, o *slog.HandlerOptions) slog.Handler { return slog.NewJSONHandler(w, o) }
	default:
		return nil, nil, fmt.Errorf("log format %q: want text or json", format)
	}
	switch destination {
	case "", "stderr":
		if stderr == nil {
			stderr = os.Stderr
		}
		h.w = stderr
	default:
		f, err := openLog(destination)
		if err != nil {
			return nil, nil, err
		}
		h.path, h.w, h.f = destination, f, f
	}
	return slog.New(mk(h, opts)), h, nil
}

// ParseLevel maps "debug", "info", "warn" and "error" (any case; empty is
// "info") to slog's levels.
func ParseLevel(s string) (slog.Level, error) {
	switch strings.ToLower(s) {
	case "debug":
		return slog.LevelDebug, nil
	case "", "info":
		return slog.LevelInfo, nil
	case "warn":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("log level %q: want debug, info, warn or error", s)
}

// Reopen calls c.Reopen if c is a *Handle (or anything with that method),
// and does nothing otherwise.
func Reopen(c io.Closer) error {
	if r, ok := c.(interface{ Reopen() error }); ok {
		return r.Reopen()
	}
	return nil
}
