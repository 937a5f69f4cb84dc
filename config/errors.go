package config

import (
	"fmt"
	"sort"
	"strings"
)

// Problem is one thing wrong in a configuration file.
type Problem struct {
	File string
	Line int    // 1-based; 0 only when the YAML parser gave no position
	Msg  string // what is wrong; names the key by its YAML name
}

// Error formats the problem as "FILE:LINE: what is wrong" (or "FILE: what
// is wrong" when the line is unknown).
func (p Problem) Error() string {
	if p.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Msg)
	}
	return p.File + ": " + p.Msg
}

// Error is returned by Load and Parse for a file that is not a valid
// configuration. Problems holds every problem found (not just the first),
// sorted by line, without duplicates; it is never empty.
type Error struct {
	Problems []Problem
}

// Error joins the problems with newlines.
func (e *Error) Error() string {
	var b strings.Builder
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(p.Error())
	}
	return b.String()
}

// Unwrap returns the problems as errors, for errors.As on a Problem.
func (e *Error) Unwrap() []error {
	errs := make([]error, len(e.Problems))
	for i, p := range e.Problems {
		errs[i] = p
	}
	return errs
}

// collector accumulates problems for one file while it is checked.
type collector struct {
	file  string
	probs []Problem
}

// errorf records a problem at line.
func (c *collector) errorf(line int, format string, args ...any) {
	c.probs = append(c.probs, Problem{File: c.file, Line: line, Msg: fmt.Sprintf(format, args...)})
}

// err returns nil when nothing was recorded, else an *Error with the
// problems sorted by line and duplicates (same line and text, as happens
// when several servers inherit one bad mail-level value) removed.
func (c *collector) err() error {
	if len(c.probs) == 0 {
		return nil
	}
	sort.SliceStable(c.probs, func(i, j int) bool { return c.probs[i].Line < c.probs[j].Line })
	out := make([]Problem, 0, len(c.probs))
	seen := make(map[Problem]bool, len(c.probs))
	for _, p := range c.probs {
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return &Error{Problems: out}
}
