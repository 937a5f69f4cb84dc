package logging

import (
	"fmt"
	"log/slog"
	"strings"
)

// nginx's eight log levels as slog levels. slog's own four keep their
// values, so a record logged with slog.LevelInfo is nginx's info; the
// four others sit between and above them.
const (
	LevelDebug  = slog.LevelDebug
	LevelInfo   = slog.LevelInfo
	LevelNotice = slog.Level(2)
	LevelWarn   = slog.LevelWarn
	LevelError  = slog.LevelError
	LevelCrit   = slog.Level(12)
	LevelAlert  = slog.Level(16)
	LevelEmerg  = slog.Level(20)
)

// levelNames are nginx's level names, least severe first, with their
// slog levels; the syslog severity of levels[i] is 7-i.
var levelNames = []struct {
	name  string
	level slog.Level
}{
	{"debug", LevelDebug}, {"info", LevelInfo}, {"notice", LevelNotice}, {"warn", LevelWarn},
	{"error", LevelError}, {"crit", LevelCrit}, {"alert", LevelAlert}, {"emerg", LevelEmerg},
}

// LevelNames lists the level names ParseLevel accepts, least severe
// first: nginx's (debug info notice warn error crit alert emerg).
func LevelNames() []string {
	out := make([]string, len(levelNames))
	for i, l := range levelNames {
		out[i] = l.name
	}
	return out
}

// ParseLevel maps one of nginx's level names (any case; empty is "info")
// to its slog level.
func ParseLevel(s string) (slog.Level, error) {
	if s == "" {
		return LevelInfo, nil
	}
	for _, l := range levelNames {
		if strings.EqualFold(s, l.name) {
			return l.level, nil
		}
	}
	return 0, fmt.Errorf("log level %q: want %s", s, strings.Join(LevelNames(), ", "))
}

// index returns the position of the nginx level a record at l is shown
// as: the most severe level at or below l.
func index(l slog.Level) int {
	for i := len(levelNames) - 1; i > 0; i-- {
		if l >= levelNames[i].level {
			return i
		}
	}
	return 0
}

// LevelName is nginx's name for a record's level: "debug" … "emerg".
func LevelName(l slog.Level) string { return levelNames[index(l)].name }

// severity is the syslog severity of a record's level, as nginx sends it
// (emerg 0 … debug 7).
func severity(l slog.Level) int { return len(levelNames) - 1 - index(l) }

// slogLevelName is the level text of the text and JSON formats: slog's
// own for its four levels (DEBUG, INFO, WARN, ERROR), nginx's name in
// capitals for the others (NOTICE, CRIT, ALERT, EMERG).
func slogLevelName(l slog.Level) (string, bool) {
	switch l {
	case LevelNotice, LevelCrit, LevelAlert, LevelEmerg:
		return strings.ToUpper(LevelName(l)), true
	}
	return "", false
}
