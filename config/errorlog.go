package config

import (
	"os"
	"path/filepath"
	"strings"

	yaml "go.yaml.in/yaml/v3"

	"mailproxy/internal/logging"
)

// LogSink is one error_log destination.
type LogSink struct {
	// Destination is "stderr", an absolute file path (a relative one is
	// taken from the configuration file's directory), or a syslog server
	// as nginx writes it ("syslog:server=ADDR[:PORT][,facility=…]
	// [,severity=…][,tag=…][,nohostname]", checked by
	// logging.ParseSyslog).
	Destination string
	// Level is one of nginx's level names, or "" for the top-level
	// log_level.
	Level string
	Line  int
}

// debugModules are nginx's debug_* levels: each means debug for one of
// its modules, and debug for everything in mailproxy.
var debugModules = []string{"debug_core", "debug_alloc", "debug_mutex", "debug_event", "debug_http", "debug_mail", "debug_stream"}

// errorLogList parses error_log: one destination or a list of them, each
// a string as nginx's arguments — "DESTINATION [LEVEL]" (a level name, or
// any of nginx's debug_* words) — or a map {destination: …, level: …}
// for a file name with spaces. Paths are made absolute and checked by
// resolveLogs, which knows the file's directory.
func errorLogList(c *collector, key string, n *yaml.Node) ([]LogSink, bool) {
	return itemList(c, key, n, logSink)
}

// logSink parses one error_log item.
func logSink(c *collector, key string, n *yaml.Node) (LogSink, bool) {
	s := LogSink{Line: n.Line}
	var words []string
	if n.Kind == yaml.MappingNode {
		for _, p := range mapPairs(c, key, n) {
			v, ok := text(c, key+" "+p.key, p.value)
			if !ok {
				return s, false
			}
			switch p.key {
			case "destination":
				s.Destination = v
			case "level":
				words = strings.Fields(v)
			default:
				c.errorf(p.line, "%s: unknown key %q, expected destination or level", key, p.key)
				return s, false
			}
		}
		if s.Destination == "" {
			c.errorf(n.Line, "%s: no destination", key)
			return s, false
		}
	} else {
		v, ok := text(c, key, n)
		if !ok {
			return s, false
		}
		f := strings.Fields(v)
		if len(f) == 0 {
			c.errorf(n.Line, "%s: empty item", key)
			return s, false
		}
		s.Destination, words = f[0], f[1:]
	}
	switch d := s.Destination; {
	case strings.HasPrefix(d, logging.SyslogPrefix):
		if _, err := logging.ParseSyslog(d); err != nil {
			c.errorf(n.Line, "%s: %v", key, err)
			return s, false
		}
	case strings.HasPrefix(d, "memory:"):
		c.errorf(n.Line, "%s: %q: the in-memory log of nginx's debug builds is not supported (use a file, stderr or syslog)", key, d)
		return s, false
	}
	// nginx's rules (ngx_log_set_params): one level name, or debug_*
	// words that may repeat.
	debug := false
	for _, w := range words {
		switch {
		case oneOfWords(w, logging.LevelNames()):
			if s.Level != "" {
				c.errorf(n.Line, "%s: duplicate log level %q", key, w)
				return s, false
			}
			s.Level = w
		case oneOfWords(w, debugModules):
			if s.Level != "" && s.Level != "debug" {
				c.errorf(n.Line, "%s: invalid log level %q", key, w)
				return s, false
			}
			debug = true
		default:
			c.errorf(n.Line, "%s: invalid log level %q, expected one of %s, or nginx's debug_* words", key, w, strings.Join(logging.LevelNames(), " "))
			return s, false
		}
	}
	if debug {
		s.Level = "debug"
	}
	return s, true
}

// oneOfWords reports whether w is one of words (case-sensitive, as
// nginx compares level names).
func oneOfWords(w string, words []string) bool {
	for _, x := range words {
		if w == x {
			return true
		}
	}
	return false
}

// ServiceLogsDirectory is the directory mailproxy's systemd unit gives it
// for log files (LogsDirectory=mailproxy, also made by the Debian
// package): systemd creates it when the service starts, so it need not
// exist for a check.
const ServiceLogsDirectory = "/var/log/mailproxy"

// resolveLogs makes the file destinations of sinks absolute (from the
// configuration file's directory) and checks that each can be created:
// its directory exists (ServiceLogsDirectory aside), and the path is not
// a directory. A file is not opened (nor created) here; the start does
// that.
func resolveLogs(c *collector, e *env, key string, sinks []LogSink) []LogSink {
	if sinks == nil {
		return nil
	}
	out := make([]LogSink, len(sinks))
	for i, s := range sinks {
		if s.Destination != "stderr" && !strings.HasPrefix(s.Destination, logging.SyslogPrefix) {
			s.Destination = absPath(e.dir, s.Destination)
			if e.checkedLogs[s.Destination] {
				out[i] = s
				continue
			}
			e.checkedLogs[s.Destination] = true
			if fi, err := os.Stat(s.Destination); err == nil && fi.IsDir() {
				c.errorf(s.Line, "%s: %s is a directory", key, s.Destination)
			} else if dir := filepath.Dir(s.Destination); dir != ServiceLogsDirectory {
				if fi, err := os.Stat(dir); err != nil {
					c.errorf(s.Line, "%s: cannot create %s: directory %s: %v", key, s.Destination, dir, pathErr(err))
				} else if !fi.IsDir() {
					c.errorf(s.Line, "%s: cannot create %s: %s is not a directory", key, s.Destination, dir)
				}
			}
		}
		out[i] = s
	}
	return out
}

// pathErr is err without the path an *os.PathError repeats.
func pathErr(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}
