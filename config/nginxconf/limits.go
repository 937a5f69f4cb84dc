package nginxconf

import (
	"runtime"
	"strconv"
	"strings"
)

// Translations of freenginx's connection limits (limit_conn_zone,
// limit_conn; limit_conn_log_level, limit_conn_dry_run and max_commands
// are one-word keys) and of the main-context directives that size and
// own the process: user, worker_processes and events { worker_connections }.

// limitConnZone translates `limit_conn_zone KEY zone=NAME:SIZE` (mail
// block) into an entry of the top-level limit_conn_zone list. The key is
// a variable: $remote_addr, $remote_user or $auth_http_NAME.
func (t *translator) limitConnZone(_ *level, d *Directive) {
	key, zone := d.Args[0], d.Args[1]
	if key.Text != "$remote_addr" && key.Text != "$remote_user" && !strings.HasPrefix(key.Text, "$auth_http_") {
		t.ps.add(key.Pos, "invalid parameter %q", key.Text)
		return
	}
	spec, ok := strings.CutPrefix(zone.Text, "zone=")
	if !ok {
		t.ps.add(zone.Pos, "invalid parameter %q", zone.Text)
		return
	}
	e := t.top.entry("limit_conn_zone", listEntry, d.Pos)
	e.items = append(e.items, item{text: "{key: " + quote(key.Text) + ", zone: " + quote(spec) + "}", pos: d.Pos, bare: true})
}

// limitConn translates `limit_conn ZONE NUMBER` into an entry of the
// level's limit_conn list.
func (t *translator) limitConn(lv *level, d *Directive) {
	e := lv.entry("limit_conn", listEntry, d.Pos)
	e.items = append(e.items, item{text: "{zone: " + quote(d.Args[0].Text) + ", number: " + quote(d.Args[1].Text) + "}", pos: d.Pos, bare: true})
}

// user translates `user USER [GROUP]` into the top-level user.
func (t *translator) user(lv *level, d *Directive) {
	if !t.once(lv, d) {
		return
	}
	words := make([]string, len(d.Args))
	for i, a := range d.Args {
		words[i] = a.Text
	}
	e := set(lv, "user", d, item{text: strings.Join(words, " "), pos: d.Pos})
	e.notes = append(e.notes, note{d.Pos, "mailproxy binds its listeners as root, then drops to this user for good"})
}

// processes holds worker_processes and the events block until finish
// turns them into max_connections.
type processes struct {
	workers     int    // worker_processes; 0: not given (nginx's 1)
	auto        bool   // worker_processes auto
	events      *entry // where the events block was: max_connections goes there
	eventsPos   Pos
	connections int // worker_connections; 0: not given (nginx's 512)
	connPos     Pos
}

// workerProcesses reads `worker_processes N|auto`.
func (t *translator) workerProcesses(lv *level, d *Directive) {
	if !t.once(lv, d) {
		return
	}
	v := d.Args[0].Text
	if v == "auto" {
		t.procs.auto = true
		return
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		t.ps.add(d.Args[0].Pos, "invalid value %q in \"worker_processes\" directive", v)
		return
	}
	t.procs.workers = n
}

// events reads the events block: worker_connections is kept, the rest is
// noted as ignored.
func (t *translator) events(d *Directive) {
	if t.procs.events != nil {
		t.ps.add(d.Pos, `"events" directive is duplicate`)
		return
	}
	if !t.check(d, spec{ctx: ctxMain, block: true}) {
		return
	}
	t.procs.events = t.top.entry("max_connections", scalarEntry, d.Pos)
	t.procs.eventsPos = d.Pos
	for _, c := range d.Block {
		if c.Name != "worker_connections" {
			t.procs.events.notes = append(t.procs.events.notes, note{c.Pos, sprintf("%q ignored: not a mail directive", c.Name)})
			continue
		}
		if !t.check(c, spec{min: 1, max: 1}) {
			continue
		}
		if t.procs.connections != 0 {
			t.ps.add(c.Pos, `"worker_connections" directive is duplicate`)
			continue
		}
		n, err := strconv.Atoi(c.Args[0].Text)
		if err != nil || n < 1 {
			t.ps.add(c.Args[0].Pos, "invalid number %q in \"worker_connections\" directive", c.Args[0].Text)
			continue
		}
		t.procs.connections, t.procs.connPos = n, c.Pos
	}
}

// maxConnections sets max_connections to worker_connections ×
// worker_processes, nginx's cap on the connections of all its workers,
// where the events block was. Without an events block (nginx refuses to
// start without one) nothing is set.
func (t *translator) maxConnections() {
	p := &t.procs
	if p.events == nil {
		return
	}
	conns, connWhat := p.connections, "worker_connections "+strconv.Itoa(p.connections)
	pos := p.connPos
	if conns == 0 {
		conns, connWhat, pos = 512, "nginx's default worker_connections 512", p.eventsPos
	}
	workers, workWhat := p.workers, "worker_processes "+strconv.Itoa(p.workers)
	switch {
	case p.auto:
		workers = t.opts.CPUs
		if workers <= 0 {
			workers = runtime.NumCPU()
		}
		workWhat = "worker_processes auto (" + strconv.Itoa(workers) + " CPUs here)"
	case workers == 0:
		workers, workWhat = 1, "nginx's default worker_processes 1"
	}
	p.events.items = []item{{text: strconv.Itoa(conns * workers), pos: pos}}
	p.events.notes = append(p.events.notes, note{pos, connWhat + " × " + workWhat + "; nginx counts its backend connections too, mailproxy counts clients and keeps descriptors aside for their backends"})
}
