package nginxconf

// This file is nginx's ngx_conf_read_token: the same states, the same
// escapes, the same messages.

// confBuffer is NGX_CONF_BUFFER: nginx reads the file through a buffer of
// this size, so a single word (or comment) of this length or more cannot
// be held and is an error.
const confBuffer = 4096

// Word is one word of a directive (its name or an argument) after quote
// removal and unescaping, with the position where it starts.
type Word struct {
	Text string
	Pos  Pos
}

// end says how a statement read by lexer.next ends.
type end int

const (
	endStatement  end = iota // ';'
	endBlockStart            // '{'
	endBlockDone             // '}' alone
	endFile                  // end of input, nothing pending
)

// lexer splits one file (or the -g text) into statements.
type lexer struct {
	file  string
	data  []byte
	pos   int  // next byte to read
	line  int  // current line, counting from 1 at the start of data
	param bool // the -g text: no buffer limit, other end-of-input message
}

func newLexer(file string, data []byte, param bool) *lexer {
	line := 1
	if param {
		line = 0 // nginx counts no lines in -g; messages say "in command line"
	}
	return &lexer{file: file, data: data, line: line, param: param}
}

// fail returns a problem at the current line.
func (l *lexer) fail(format string, args ...any) error {
	var ps problems
	ps.add(Pos{l.file, l.line}, format, args...)
	return ps.err()
}

func isSpace(ch byte) bool {
	return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n'
}

// next reads the words of one statement and how it ends: ';' or '{' after
// at least one word, '}' with no word pending, or the end of the input
// with nothing pending. Anything else is a syntax error, with nginx's
// message.
func (l *lexer) next() ([]Word, end, error) {
	var (
		words                                 []Word
		needSpace, sharpComment, quoted       bool
		variable, sQuoted, dQuoted, lastSpace = false, false, false, true
		start, startLine                      = l.pos, l.line
	)
	for {
		if l.pos >= len(l.data) {
			if len(words) > 0 || !lastSpace {
				if l.param {
					return nil, 0, l.fail(`unexpected end of parameter, expecting ";"`)
				}
				return nil, 0, l.fail(`unexpected end of file, expecting ";" or "}"`)
			}
			return nil, endFile, nil
		}
		if !l.param && l.pos-start >= confBuffer {
			l.line = startLine
			switch {
			case dQuoted:
				return nil, 0, l.fail(`too long parameter, probably missing terminating """ character`)
			case sQuoted:
				return nil, 0, l.fail(`too long parameter, probably missing terminating "'" character`)
			}
			return nil, 0, l.fail("too long parameter \"%s...\" started", l.data[start:start+10])
		}
		ch := l.data[l.pos]
		l.pos++
		if ch == '\n' {
			l.line++
			sharpComment = false
		}
		if sharpComment {
			continue
		}
		if quoted {
			quoted = false
			continue
		}
		if needSpace {
			if isSpace(ch) {
				lastSpace, needSpace = true, false
				continue
			}
			switch ch {
			case ';':
				return words, endStatement, nil
			case '{':
				return words, endBlockStart, nil
			case ')':
				lastSpace, needSpace = true, false
			default:
				return nil, 0, l.fail(`unexpected "%s"`, []byte{ch})
			}
		}
		if lastSpace {
			start, startLine = l.pos-1, l.line
			if isSpace(ch) {
				continue
			}
			switch ch {
			case ';', '{':
				if len(words) == 0 {
					return nil, 0, l.fail(`unexpected "%s"`, []byte{ch})
				}
				if ch == '{' {
					return words, endBlockStart, nil
				}
				return words, endStatement, nil
			case '}':
				if len(words) != 0 {
					return nil, 0, l.fail(`unexpected "}"`)
				}
				return nil, endBlockDone, nil
			case '#':
				sharpComment = true
				continue
			case '\\':
				quoted, lastSpace = true, false
				continue
			case '"':
				start++
				dQuoted, lastSpace = true, false
				continue
			case '\'':
				start++
				sQuoted, lastSpace = true, false
				continue
			case '$':
				variable, lastSpace = true, false
				continue
			default:
				lastSpace = false
				continue
			}
		}
		if ch == '{' && variable {
			continue
		}
		variable = false
		if ch == '\\' {
			quoted = true
			continue
		}
		if ch == '$' {
			variable = true
			continue
		}
		found := false
		switch {
		case dQuoted:
			if ch == '"' {
				dQuoted, needSpace, found = false, true, true
			}
		case sQuoted:
			if ch == '\'' {
				sQuoted, needSpace, found = false, true, true
			}
		case isSpace(ch) || ch == ';' || ch == '{':
			lastSpace, found = true, true
		}
		if !found {
			continue
		}
		words = append(words, Word{Text: unescape(l.data[start : l.pos-1]), Pos: Pos{l.file, startLine}})
		switch ch {
		case ';':
			return words, endStatement, nil
		case '{':
			return words, endBlockStart, nil
		}
	}
}

// unescape applies nginx's escapes to the raw text of a word: \" \' \\
// stand for the character, \t \r \n for the control character; any other
// backslash is kept.
func unescape(raw []byte) string {
	out := make([]byte, 0, len(raw))
	for i := 0; i < len(raw); i++ {
		if raw[i] == '\\' && i+1 < len(raw) {
			switch raw[i+1] {
			case '"', '\'', '\\':
				i++
			case 't':
				out = append(out, '\t')
				i++
				continue
			case 'r':
				out = append(out, '\r')
				i++
				continue
			case 'n':
				out = append(out, '\n')
				i++
				continue
			}
		}
		out = append(out, raw[i])
	}
	return string(out)
}
