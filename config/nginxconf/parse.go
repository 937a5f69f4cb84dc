package nginxconf

// maxDepth bounds block nesting. nginx has no such limit, but no real
// configuration comes near it and a parser must not recurse without end.
const maxDepth = 100

// Directive is one parsed directive: `name args;` or `name args { block }`.
// Includes are not expanded by the parser (see Options and include.go):
// an `include` is a directive like any other.
type Directive struct {
	Name    string
	Pos     Pos    // position of the name
	Args    []Word // arguments, unquoted and unescaped; variables left as text
	IsBlock bool   // ended with "{" (Block holds the contents, maybe none)
	Block   []*Directive
}

// Parse parses the text of one configuration file as nginx does; name is
// the file name used in positions. It returns the top-level directives,
// or a *config.Error holding the first syntax error (nginx stops there
// too).
func Parse(name string, data []byte) ([]*Directive, error) {
	return parseBlock(newLexer(name, data, false), 0)
}

// ParseParam parses the text of nginx's -g option (e.g. "pid /run/x.pid;
// error_log stderr;"). Blocks are refused, as by nginx; positions name
// the file "command line" with line 0.
func ParseParam(text string) ([]*Directive, error) {
	return parseBlock(newLexer(commandLine, []byte(text), true), 0)
}

// parseBlock reads statements until the end of the input (depth 0) or
// the "}" that closes the current block (depth > 0).
func parseBlock(l *lexer, depth int) ([]*Directive, error) {
	var out []*Directive
	for {
		words, how, err := l.next()
		if err != nil {
			return nil, err
		}
		switch how {
		case endBlockDone:
			if depth == 0 {
				return nil, l.fail(`unexpected "}"`)
			}
			return out, nil
		case endFile:
			if depth > 0 {
				return nil, l.fail(`unexpected end of file, expecting "}"`)
			}
			return out, nil
		}
		d := &Directive{Name: words[0].Text, Pos: words[0].Pos, Args: words[1:]}
		out = append(out, d)
		if how != endBlockStart {
			continue
		}
		if l.param {
			return nil, l.fail("block directives are not supported in -g option")
		}
		if depth+1 >= maxDepth {
			return nil, l.fail("blocks nested more than %d deep", maxDepth)
		}
		d.IsBlock = true
		if d.Block, err = parseBlock(l, depth+1); err != nil {
			return nil, err
		}
	}
}
