package nginxconf

import (
	"fmt"
	"path/filepath"
	"strings"
	"unicode/utf8"
)

// translator holds the state of one translation.
type translator struct {
	opts  Options
	paths paths
	ps    problems

	top *level // the main context: pid, error_log, shutdown_timeout

	mail    *level
	servers []*level
	depth   int // include nesting

	procs processes // worker_processes and events, for max_connections
}

// Translate translates the nginx configuration data, read from file (the
// name as given on the command line, resolved with opts.Prefix as nginx
// does), into a mailproxy YAML document. It fails with a *config.Error
// listing every problem (a syntax error stops the parse, as in nginx);
// the document it returns has not been checked by config.Parse yet (see
// Result.Config).
func Translate(file string, data []byte, opts Options) (*Result, error) {
	p, err := opts.resolve(file)
	if err != nil {
		return nil, err
	}
	t := &translator{opts: opts, paths: p, top: newLevel(Pos{})}
	if opts.Globals != "" {
		ds, err := ParseParam(opts.Globals)
		if err != nil {
			return nil, err
		}
		t.walkMain(ds)
	}
	ds, err := Parse(p.file, data)
	if err != nil {
		t.ps.addErr(Pos{File: p.file}, err)
		return nil, t.ps.err()
	}
	t.walkMain(ds)
	t.finish()
	if err := t.ps.err(); err != nil {
		return nil, err
	}
	return t.emit(), nil
}

// TranslateFile reads file (resolved with opts.Prefix as nginx does) and
// translates it with Translate.
func TranslateFile(file string, opts Options) (*Result, error) {
	name, err := opts.ConfigFile(file)
	if err != nil {
		return nil, err
	}
	data, err := opts.readFile(name)
	if err != nil {
		return nil, err
	}
	return Translate(name, data, opts)
}

// ConfigFile returns the absolute name of the configuration file given on
// the command line: relative to Prefix when one is set (as nginx's -c is
// relative to -p), else to the working directory.
func (o Options) ConfigFile(file string) (string, error) {
	p, err := o.resolve(file)
	return p.file, err
}

// walkMain reads the main context: include, mail, the translated globals;
// everything else is noted as ignored.
func (t *translator) walkMain(ds []*Directive) {
	for _, d := range ds {
		switch {
		case d.Name == "include":
			t.include(d, func(ds []*Directive) { t.walkMain(ds) })
		case d.Name == "mail":
			t.mailBlock(d)
		case d.Name == "events":
			t.events(d)
		case mainDirectives[d.Name].tr != nil:
			s := mainDirectives[d.Name]
			if t.check(d, s) {
				s.tr(t, t.top, d)
			}
		case mailDirectives[d.Name].tr != nil:
			t.ps.add(d.Pos, "%q directive is not allowed here", d.Name)
		case d.IsBlock:
			t.top.note(d.Pos, "%q block ignored: mailproxy replaces the mail module only", d.Name)
		default:
			t.top.note(d.Pos, "%q ignored: not a mail directive", d.Name)
		}
	}
}

// mailBlock reads the mail block.
func (t *translator) mailBlock(d *Directive) {
	if t.mail != nil {
		t.ps.add(d.Pos, `"mail" directive is duplicate`)
		return
	}
	if !t.check(d, spec{ctx: ctxMain, block: true}) {
		return
	}
	t.mail = newLevel(d.Pos)
	t.walkLevel(d.Block, t.mail, ctxMail)
}

// server reads one server block of the mail block.
func (t *translator) server(_ *level, d *Directive) {
	srv := newLevel(d.Pos)
	t.walkLevel(d.Block, srv, ctxServer)
	t.servers = append(t.servers, srv)
}

// walkLevel reads the directives of the mail block (ctx ctxMail) or of a
// server block (ctxServer) into lv.
func (t *translator) walkLevel(ds []*Directive, lv *level, ctx context) {
	for _, d := range ds {
		if d.Name == "include" {
			t.include(d, func(ds []*Directive) { t.walkLevel(ds, lv, ctx) })
			continue
		}
		s, ok := mailDirectives[d.Name]
		switch {
		case !ok && (otherDirectives[d.Name] || mainDirectives[d.Name].tr != nil):
			t.ps.add(d.Pos, "%q directive is not allowed here", d.Name)
		case !ok:
			t.ps.add(d.Pos, "unknown directive %q", d.Name)
		case s.ctx&ctx == 0:
			t.ps.add(d.Pos, "%q directive is not allowed here", d.Name)
		default:
			if t.check(d, s) {
				s.tr(t, lv, d)
			}
		}
	}
}

// check applies nginx's generic checks to a directive found in its
// context: block or not, number of arguments; and refuses variables,
// which the mail module never expands.
func (t *translator) check(d *Directive, s spec) bool {
	switch {
	case !s.block && d.IsBlock:
		t.ps.add(d.Pos, "directive %q is not terminated by \";\"", d.Name)
		return false
	case s.block && !d.IsBlock:
		t.ps.add(d.Pos, "directive %q has no opening \"{\"", d.Name)
		return false
	case len(d.Args) < s.min || s.max != many && len(d.Args) > s.max:
		t.ps.add(d.Pos, "invalid number of arguments in %q directive", d.Name)
		return false
	}
	ok := true
	for i, a := range d.Args {
		if !utf8.ValidString(a.Text) {
			t.ps.add(a.Pos, "directive %q has an argument that is not valid UTF-8, which a YAML configuration cannot hold", d.Name)
			ok = false
			continue
		}
		if v := variable(a.Text); v != "" && !(s.keyVar && i == 0) {
			t.ps.add(a.Pos, "directive %q uses variable %q: mail directives take literal values, variables are never expanded", d.Name, v)
			ok = false
		}
	}
	return ok
}

// variable returns the first variable reference in s ($name or ${name}),
// or "".
func variable(s string) string {
	for i := 0; i+1 < len(s); i++ {
		if s[i] != '$' {
			continue
		}
		if s[i+1] == '{' {
			if end := strings.IndexByte(s[i:], '}'); end > 0 {
				return s[i : i+end+1]
			}
			return s[i:]
		}
		j := i + 1
		for j < len(s) && (s[j] == '_' || s[j] >= 'a' && s[j] <= 'z' || s[j] >= 'A' && s[j] <= 'Z' || s[j] >= '0' && s[j] <= '9' && j > i+1) {
			j++
		}
		if j > i+1 {
			return s[i:j]
		}
	}
	return ""
}

// show names pos for a comment: relative to the main file's directory
// when it is below it.
func (t *translator) show(pos Pos) string {
	if pos.File == commandLine {
		return "-g"
	}
	if rel, err := filepath.Rel(t.paths.confPrefix, pos.File); err == nil && !strings.HasPrefix(rel, "..") {
		pos.File = rel
	}
	return pos.String()
}

func sprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }
