package nginxconf

import "strings"

// Translations of the main-context directives mailproxy honours, and of
// error_log at every level.

// pid translates `pid FILE` into the top-level pid (relative to the
// prefix, as nginx resolves it).
func (t *translator) pid(lv *level, d *Directive) {
	if t.once(lv, d) {
		set(lv, "pid", d, item{text: join(t.paths.prefix, d.Args[0].Text), pos: d.Pos})
	}
}

// shutdownTimeout translates worker_shutdown_timeout into the top-level
// shutdown_timeout: both bound a graceful stop.
func (t *translator) shutdownTimeout(lv *level, d *Directive) {
	if t.once(lv, d) {
		e := set(lv, "shutdown_timeout", d, item{text: d.Args[0].Text, pos: d.Pos})
		e.notes = append(e.notes, note{d.Pos, "from \"worker_shutdown_timeout\": the bound of a graceful stop (SIGQUIT)"})
	}
}

// nginxLevels are nginx's log levels, most severe first.
var nginxLevels = []string{"emerg", "alert", "crit", "error", "warn", "notice", "info", "debug"}

// mailproxyLevel maps nginx's log levels onto mailproxy's four.
var mailproxyLevel = map[string]string{
	"emerg": "error", "alert": "error", "crit": "error", "error": "error",
	"warn": "warn", "notice": "info", "info": "info", "debug": "debug",
}

// errorLog parses `error_log FILE [LEVEL] [debug_…]` as nginx's
// ngx_log_set_log does. ok is false after an error.
func (t *translator) errorLog(d *Directive, from string) (logSpec, bool) {
	l := logSpec{level: "error", pos: d.Pos, from: from}
	switch dest := d.Args[0].Text; {
	case dest == "stderr":
		l.dest = dest
	case strings.HasPrefix(dest, "syslog:"), strings.HasPrefix(dest, "memory:"):
		kind, _, _ := strings.Cut(dest, ":")
		t.ps.add(d.Args[0].Pos, "directive \"error_log\" with %q is not supported: mailproxy logs to stderr (journald) or to a file, not to %s", dest, kind)
		return l, false
	default:
		l.dest = join(t.paths.prefix, dest)
	}
	level, debug := "", false
	for _, a := range d.Args[1:] {
		switch {
		case oneOfExact(a.Text, nginxLevels):
			if level != "" {
				t.ps.add(a.Pos, "duplicate log level %q", a.Text)
				return l, false
			}
			level = a.Text
		case strings.HasPrefix(a.Text, "debug_") && oneOfExact(a.Text[len("debug_"):], []string{"core", "alloc", "mutex", "event", "http", "mail", "stream"}):
			if level != "" && level != "debug" {
				t.ps.add(a.Pos, "invalid log level %q", a.Text)
				return l, false
			}
			debug = true
		default:
			t.ps.add(a.Pos, "invalid log level %q", a.Text)
			return l, false
		}
	}
	switch {
	case debug:
		l.level, l.debugMods = "debug", true
	case level != "":
		l.level = level
	default:
		l.implicit = true
	}
	return l, true
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

// mainErrorLog records a main-context error_log.
func (t *translator) mainErrorLog(lv *level, d *Directive) {
	if l, ok := t.errorLog(d, "main context"); ok {
		l.where = lv.note(d.Pos, "")
		lv.logs = append(lv.logs, l)
	}
}

// mailErrorLog records an error_log of the mail block or of a server.
func (t *translator) mailErrorLog(lv *level, d *Directive) {
	from := "server"
	if lv == t.mail {
		from = "mail block"
	}
	if l, ok := t.errorLog(d, from); ok {
		l.where = lv.note(d.Pos, "")
		lv.logs = append(lv.logs, l)
	}
}

// decideLog chooses mailproxy's single log: the one every server logs to
// under nginx's inheritance (server, else mail block, else main context).
// Two logs at one level, or servers logging to different places, cannot
// be honoured.
func (t *translator) decideLog() {
	levels := append([]*level{t.top, t.mail}, t.servers...)
	for _, lv := range levels {
		if len(lv.logs) > 1 {
			t.ps.add(lv.logs[1].pos, "directive \"error_log\" cannot be honoured: a second log at one level (the first is at %s), and mailproxy writes one log", t.show(lv.logs[0].pos))
			return
		}
	}
	first := func(lvs ...*level) *logSpec {
		for _, lv := range lvs {
			if len(lv.logs) > 0 {
				return &lv.logs[0]
			}
		}
		return nil
	}
	chosen := first(t.mail, t.top)
	for i, srv := range t.servers {
		eff := first(srv, t.mail, t.top)
		if i == 0 {
			chosen = eff
			continue
		}
		if (eff == nil) != (chosen == nil) || eff != nil && (eff.dest != chosen.dest || eff.level != chosen.level) {
			at := chosen
			if eff != nil && (chosen == nil || eff.from == "server") {
				at = eff
			}
			t.ps.add(at.pos, "directive \"error_log\" cannot be honoured: servers log to %s and %s, and mailproxy has one log for every server", describeLog(chosen), describeLog(eff))
			return
		}
	}
	if chosen == nil {
		t.top.note(Pos{}, "no error_log: mailproxy logs to stderr at level info (nginx to its logs/error.log at level error)")
		return
	}
	dest := &entry{key: "error_log", pos: chosen.pos, items: []item{{text: chosen.dest, pos: chosen.pos}}}
	lvl := mailproxyLevel[chosen.level]
	level := &entry{key: "log_level", pos: chosen.pos, items: []item{{text: lvl, pos: chosen.pos}}}
	dest.notes = append(dest.notes, note{chosen.pos, "mailproxy writes slog key=value lines, not nginx's error_log format"})
	if chosen.from != "main context" {
		dest.notes = append(dest.notes, note{chosen.pos, sprintf("the %s's error_log: mailproxy has one log, for every server and the process", chosen.from)})
		for _, l := range t.top.logs {
			l.where.notes = append(l.where.notes, note{l.pos, sprintf("main-context error_log %q not used: the mail servers log elsewhere", l.dest)})
		}
	}
	for _, lv := range levels[1:] {
		for _, l := range lv.logs {
			text := "error_log: the same log as the other servers', mailproxy's single error_log and log_level (top of the file)"
			if l.where == chosen.where {
				text = "error_log moved to the top of the file: mailproxy has one log"
			}
			l.where.notes = append(l.where.notes, note{l.pos, text})
		}
	}
	switch {
	case chosen.debugMods:
		level.notes = append(level.notes, note{chosen.pos, "nginx's debug_* levels: mailproxy's debug level, for everything"})
	case chosen.implicit:
		level.notes = append(level.notes, note{chosen.pos, "no level given: nginx's default, error"})
	case lvl != chosen.level:
		level.notes = append(level.notes, note{chosen.pos, sprintf("nginx's level %q is %q for mailproxy", chosen.level, lvl)})
	}
	t.top.insert(chosen.where, dest, level)
}

// describeLog names a log for messages.
func describeLog(l *logSpec) string {
	if l == nil {
		return "stderr (no error_log)"
	}
	return sprintf("%s at level %s", l.dest, l.level)
}
