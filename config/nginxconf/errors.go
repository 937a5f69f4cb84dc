package nginxconf

import (
	"fmt"
	"sort"

	"mailproxy/config"
)

// Pos is a position in an nginx configuration: the file as it was opened
// (or "command line" for -g directives) and the 1-based line. Line 0 means
// no particular line.
type Pos struct {
	File string
	Line int
}

// String formats p as "FILE:LINE", or "FILE" when the line is 0.
func (p Pos) String() string {
	if p.Line > 0 {
		return fmt.Sprintf("%s:%d", p.File, p.Line)
	}
	return p.File
}

// commandLine is the file name of directives given with -g, as nginx
// names them in its messages ("in command line").
const commandLine = "command line"

// Errors are config's: a *config.Error whose problems carry the nginx
// file and line ("FILE:LINE: what is wrong"), so that callers handle a
// translated configuration exactly like a YAML one.

// problems accumulates errors; the zero value is ready to use.
type problems struct {
	list []config.Problem
}

// add records an error at pos.
func (ps *problems) add(pos Pos, format string, args ...any) {
	ps.list = append(ps.list, config.Problem{File: pos.File, Line: pos.Line, Msg: fmt.Sprintf(format, args...)})
}

// addErr records err: the problems of a *config.Error, or err's text at
// pos.
func (ps *problems) addErr(pos Pos, err error) {
	if e, ok := err.(*config.Error); ok {
		ps.list = append(ps.list, e.Problems...)
		return
	}
	ps.add(pos, "%v", err)
}

// err returns nil when nothing was recorded, else a *config.Error with the
// problems without duplicates, those of one file sorted by line and the
// files in the order they were first met.
func (ps *problems) err() error {
	if len(ps.list) == 0 {
		return nil
	}
	rank := map[string]int{}
	out := make([]config.Problem, 0, len(ps.list))
	seen := map[config.Problem]bool{}
	for _, p := range ps.list {
		if _, ok := rank[p.File]; !ok {
			rank[p.File] = len(rank)
		}
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.File != b.File {
			return rank[a.File] < rank[b.File]
		}
		return a.Line < b.Line
	})
	return &config.Error{Problems: out}
}
