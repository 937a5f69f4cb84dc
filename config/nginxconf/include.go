package nginxconf

import (
	"errors"
	"io/fs"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"unicode"
)

// maxIncludeDepth bounds include nesting: nginx has no limit and loops
// until it runs out of file descriptors on an include cycle.
const maxIncludeDepth = 32

// include reads the files of an include directive, in the context of the
// directive: the name is relative to the conf prefix (the main file's
// directory), a name with *, ? or [ is a glob whose matches are read in
// sorted order (none is not an error), and each file is parsed on its
// own, so it must balance its braces. visit receives the directives of
// each file.
func (t *translator) include(d *Directive, visit func([]*Directive)) {
	if !t.check(d, spec{min: 1, max: 1}) {
		return
	}
	name := join(t.paths.confPrefix, d.Args[0].Text)
	files := []string{name}
	if strings.ContainsAny(name, "*?[") {
		var err error
		if files, err = t.opts.glob(name); err != nil {
			t.ps.add(d.Pos, "glob() %q failed (%v)", name, err)
			return
		}
		files = withoutHidden(name, files)
		sort.Strings(files)
	}
	if t.depth >= maxIncludeDepth {
		t.ps.add(d.Pos, "include %q: more than %d nested includes (a loop?)", d.Args[0].Text, maxIncludeDepth)
		return
	}
	t.depth++
	defer func() { t.depth-- }()
	for _, f := range files {
		data, err := t.opts.readFile(f)
		if err != nil {
			t.ps.add(d.Pos, "%s", openError(f, err))
			continue
		}
		ds, err := Parse(f, data)
		if err != nil {
			t.ps.addErr(d.Pos, err)
			continue
		}
		visit(ds)
	}
}

// withoutHidden drops the matches glob(3) would not return: a "*" or "?"
// does not match a leading dot, unless the pattern component starts with
// one.
func withoutHidden(pattern string, files []string) []string {
	pc := strings.Split(filepath.ToSlash(pattern), "/")
	out := files[:0]
	for _, f := range files {
		fc := strings.Split(filepath.ToSlash(f), "/")
		keep := len(fc) == len(pc)
		for i := 0; keep && i < len(fc); i++ {
			if strings.HasPrefix(fc[i], ".") && !strings.HasPrefix(pc[i], ".") {
				keep = false
			}
		}
		if keep {
			out = append(out, f)
		}
	}
	return out
}

// openError formats a file error as nginx does: `open() "/x" failed (2:
// No such file or directory)`.
func openError(name string, err error) string {
	op, why := "open", err.Error()
	var pe *fs.PathError
	if errors.As(err, &pe) {
		op, why = pe.Op, pe.Err.Error()
	}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		r := []rune(errno.Error())
		if len(r) > 0 {
			r[0] = unicode.ToUpper(r[0])
		}
		why = sprintf("%d: %s", int(errno), string(r))
	}
	return sprintf("%s() %q failed (%s)", op, name, why)
}
