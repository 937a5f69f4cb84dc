package nginxconf

import (
	"errors"
	"regexp"
	"strconv"
	"strings"

	"mailproxy/config"
)

// Result is a translated configuration.
type Result struct {
	// File is the main nginx configuration file, absolute; it is the
	// name given to config.Parse, so it becomes Config.File.
	File string
	// YAML is the mailproxy document, comments included.
	YAML []byte

	source  []Pos       // source[i] is the nginx position of YAML line i+1
	servers map[int]Pos // first YAML line of each server entry → server block
}

// Source returns the nginx position of a line of the YAML document (zero
// when the line comes from no directive).
func (r *Result) Source(line int) Pos {
	if line < 1 || line > len(r.source) {
		return Pos{}
	}
	return r.source[line-1]
}

// Config checks the document with config.Parse (certificates are loaded,
// addresses and values checked) and returns the configuration with every
// Line field turned into the line of the nginx directive (of the file
// that holds it, which for an included file is not Config.File). Problems
// are reported at the nginx file:line they come from, in a *config.Error.
func (r *Result) Config() (*config.Config, error) {
	cfg, err := config.Parse(r.File, r.YAML)
	if err != nil {
		var ce *config.Error
		if !errors.As(err, &ce) {
			return nil, err
		}
		var ps problems
		for _, p := range ce.Problems {
			pos := r.problemPos(p)
			ps.add(pos, "%s", r.atLines(pos, p.Msg))
		}
		return nil, ps.err()
	}
	for i := range cfg.ErrorLog {
		cfg.ErrorLog[i].Line = r.Source(cfg.ErrorLog[i].Line).Line
	}
	for _, s := range cfg.Servers {
		s.Line = r.serverPos(s.Line).Line
		for i := range s.Listen {
			s.Listen[i].Line = r.Source(s.Listen[i].Line).Line
		}
		for i := range s.ErrorLog {
			s.ErrorLog[i].Line = r.Source(s.ErrorLog[i].Line).Line
		}
	}
	return cfg, nil
}

// serverPos returns the server block whose entry starts at a YAML line.
func (r *Result) serverPos(line int) Pos {
	if p, ok := r.servers[line]; ok {
		return p
	}
	return r.Source(line)
}

// problemPos returns where a problem found by config.Parse is in the
// nginx files. The messages about a whole server are reported by
// config.Parse at the server entry's first line, which is also the line
// of its first key: they go to the server block.
func (r *Result) problemPos(p config.Problem) Pos {
	if strings.HasSuffix(p.Msg, " for server") {
		return r.serverPos(p.Line)
	}
	pos := r.Source(p.Line)
	if pos.File == "" {
		pos.File = r.File
	}
	return pos
}

// atLineRE finds the YAML line numbers config.Parse puts in messages
// ("first defined at line 12").
var atLineRE = regexp.MustCompile(`at line (\d+)`)

// atLines rewrites the YAML line numbers in msg into nginx positions.
func (r *Result) atLines(at Pos, msg string) string {
	return atLineRE.ReplaceAllStringFunc(msg, func(m string) string {
		n, _ := strconv.Atoi(m[len("at line "):])
		pos := r.Source(n)
		switch {
		case pos.File == "":
			return m
		case pos.File == at.File:
			return "at line " + strconv.Itoa(pos.Line)
		}
		return "at " + pos.String()
	})
}
