package nginxconf

import (
	"path/filepath"
	"strings"

	"mailproxy/config"
)

// Translations of the main-context directives mailproxy honours, and of
// error_log at every level.

// Where the systemd unit lets mailproxy write (RuntimeDirectory= and
// LogsDirectory=): import-nginx moves pid and error_log files there.
const (
	servicePID     = "/run/mailproxy/mailproxy.pid"
	serviceLogsDir = config.ServiceLogsDirectory
)

// pid translates `pid FILE` into the top-level pid (relative to the
// prefix, as nginx resolves it); for import-nginx, the unit's pid file.
func (t *translator) pid(lv *level, d *Directive) {
	if !t.once(lv, d) {
		return
	}
	file := join(t.paths.prefix, d.Args[0].Text)
	if t.opts.forService && file != servicePID {
		e := set(lv, "pid", d, item{text: servicePID, pos: d.Pos})
		e.notes = append(e.notes, note{d.Pos, sprintf("nginx's pid %s: the systemd unit lets mailproxy write in /run/mailproxy only (RuntimeDirectory=); under systemd no pid file is needed", file)})
		return
	}
	set(lv, "pid", d, item{text: file, pos: d.Pos})
}

// shutdownTimeout translates worker_shutdown_timeout, which bounds a
// graceful stop and, after a reload, the sessions of the old
// configuration.
func (t *translator) shutdownTimeout(lv *level, d *Directive) {
	if t.once(lv, d) {
		set(lv, "worker_shutdown_timeout", d, item{text: d.Args[0].Text, pos: d.Pos})
	}
}

// nginxLevels are nginx's log levels, most severe first.
var nginxLevels = []string{"emerg", "alert", "crit", "error", "warn", "notice", "info", "debug"}

// errorLog translates `error_log DEST [LEVEL] [debug_…]` (checked as
// nginx's ngx_log_set_log checks it) into one item of the level's
// error_log list, "DEST LEVEL" with the level always written (nginx's
// default, error, when none is given). A file is relative to the
// prefix; for import-nginx it moves to the unit's logs directory.
func (t *translator) errorLog(lv *level, d *Directive) {
	dest := d.Args[0].Text
	var notes []note
	switch {
	case dest == "stderr", strings.HasPrefix(dest, "syslog:"):
	case strings.HasPrefix(dest, "memory:"):
		t.ps.add(d.Args[0].Pos, "directive \"error_log\" with %q is not supported: the in-memory log of nginx's debug builds has no counterpart (use a file, stderr or syslog)", dest)
		return
	default:
		dest = join(t.paths.prefix, dest)
		if t.opts.forService && filepath.Dir(dest) != serviceLogsDir {
			moved := filepath.Join(serviceLogsDir, filepath.Base(dest))
			notes = append(notes, note{d.Pos, sprintf("nginx's error_log %s: the systemd unit lets mailproxy write logs in %s only (LogsDirectory=)", dest, serviceLogsDir)})
			dest = moved
		}
	}
	level, debug := "", false
	for _, a := range d.Args[1:] {
		switch {
		case oneOfExact(a.Text, nginxLevels):
			if level != "" {
				t.ps.add(a.Pos, "duplicate log level %q", a.Text)
				return
			}
			level = a.Text
		case strings.HasPrefix(a.Text, "debug_") && oneOfExact(a.Text[len("debug_"):], []string{"core", "alloc", "mutex", "event", "http", "mail", "stream"}):
			if level != "" && level != "debug" {
				t.ps.add(a.Pos, "invalid log level %q", a.Text)
				return
			}
			debug = true
		case strings.HasPrefix(a.Text, "rate="):
			notes = append(notes, note{a.Pos, sprintf("%q (freenginx) dropped: mailproxy does not limit the rate of log lines", a.Text)})
		case level != "":
			t.ps.add(a.Pos, "invalid parameter %q", a.Text)
			return
		default:
			t.ps.add(a.Pos, "invalid log level %q", a.Text)
			return
		}
	}
	switch {
	case debug:
		level = "debug"
		notes = append(notes, note{d.Pos, "nginx's debug_* levels: mailproxy's debug level, for everything"})
	case level == "":
		level = "error"
		notes = append(notes, note{d.Pos, "no level given: nginx's default, error"})
	}
	it := item{text: dest + " " + level, pos: d.Pos}
	if strings.ContainsAny(dest, " \t") {
		it = item{text: "{destination: " + quote(dest) + ", level: " + level + "}", pos: d.Pos, bare: true}
	}
	e := lv.entry("error_log", listEntry, d.Pos)
	e.items = append(e.items, it)
	e.notes = append(e.notes, notes...)
	lv.logs++
}

// oneOfExact reports whether v is one of choices (case-sensitive, as
// nginx compares log levels).
func oneOfExact(v string, choices []string) bool {
	for _, c := range choices {
		if v == c {
			return true
		}
	}
	return false
}

// logFormat puts log_format: nginx first in the document, and notes what
// logs the process when the main context has no error_log.
func (t *translator) logFormat() {
	e := &entry{key: "log_format", kind: scalarEntry, items: []item{{text: "nginx"}}}
	e.notes = []note{{Pos{}, "nginx's error_log line format (a YAML configuration writes slog's text lines by default)"}}
	t.top.entries = append([]*entry{e}, t.top.entries...)
	t.top.byKey[e.key] = e
	if t.top.logs == 0 {
		t.top.note(Pos{}, "no error_log: mailproxy logs to stderr at level info (nginx to its logs/error.log at level error)")
	}
}
