package conformance

import (
	"fmt"
	"strconv"
	"strings"
)

// token is one lexical token of a statement: a bare word or a string.
type token struct {
	str  bool
	text string // word text
	data []byte // decoded string bytes
}

// stmt is one statement with its continuations folded in.
type stmt struct {
	key  string
	args []token
	line int
}

// lexStatements splits the file into statements, folding continuation
// lines into the last string argument of the preceding statement.
func lexStatements(file string, data []byte) ([]stmt, error) {
	var out []stmt
	for i, raw := range strings.Split(string(data), "\n") {
		n := i + 1
		line := strings.Trim(raw, " \t\r")
		if line == "" || line[0] == '#' {
			continue
		}
		toks, err := tokenize(line)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %v", file, n, err)
		}
		if line[0] == '"' {
			if len(out) == 0 || len(toks) != 1 {
				return nil, fmt.Errorf("%s:%d: bad continuation line", file, n)
			}
			prev := out[len(out)-1].args
			k := -1
			for j, t := range prev {
				if t.str {
					k = j
				}
			}
			if k < 0 {
				return nil, fmt.Errorf("%s:%d: continuation of a statement without string", file, n)
			}
			prev[k].data = append(prev[k].data, toks[0].data...)
			continue
		}
		out = append(out, stmt{key: toks[0].text, args: toks[1:], line: n})
	}
	return out, nil
}

// tokenize splits one line into bare words and decoded strings.
func tokenize(line string) ([]token, error) {
	var toks []token
	for i := 0; i < len(line); {
		switch ch := line[i]; {
		case ch == ' ' || ch == '\t':
			i++
		case ch == '"':
			j := i + 1
			for j < len(line) && line[j] != '"' {
				if line[j] == '\\' {
					j++
				}
				j++
			}
			if j >= len(line) {
				return nil, fmt.Errorf("unterminated string")
			}
			b, err := Unquote(line[i : j+1])
			if err != nil {
				return nil, err
			}
			toks = append(toks, token{str: true, data: b})
			i = j + 1
		default:
			j := i
			for j < len(line) && line[j] != ' ' && line[j] != '\t' {
				if line[j] == '"' || line[j] < 0x21 || line[j] > 0x7e {
					return nil, fmt.Errorf("bad character %q in bare word", line[j])
				}
				j++
			}
			toks = append(toks, token{text: line[i:j]})
			i = j
		}
	}
	if len(toks) > 0 && toks[0].str && len(toks) != 1 {
		return nil, fmt.Errorf("a continuation line holds exactly one string")
	}
	return toks, nil
}

// Unquote decodes one string token written as "..." (README §3): printable
// ASCII other than `"` and `\`, or one of the escapes \r \n \t \\ \" \xHH.
// Any other escape or byte is an error. The decoding itself is Go's
// strconv.Unquote, of which this syntax is a subset.
func Unquote(tok string) ([]byte, error) {
	if len(tok) < 2 || tok[0] != '"' || tok[len(tok)-1] != '"' {
		return nil, fmt.Errorf("not a string: %s", tok)
	}
	s := tok[1 : len(tok)-1]
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case ch == '\\':
			if i+1 >= len(s) {
				return nil, fmt.Errorf("dangling backslash in %s", tok)
			}
			switch s[i+1] {
			case 'r', 'n', 't', '\\', '"':
				i++
			case 'x':
				if !isHex(s, i+2) || !isHex(s, i+3) {
					return nil, fmt.Errorf("bad \\x escape in %s", tok)
				}
				i += 3
			default:
				return nil, fmt.Errorf("bad escape \\%c in %s", s[i+1], tok)
			}
		case ch == '"':
			return nil, fmt.Errorf("unescaped quote in %s", tok)
		case ch < 0x20 || ch > 0x7e:
			return nil, fmt.Errorf("raw byte %#x inside a string", ch)
		}
	}
	u, err := strconv.Unquote(tok)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", tok, err)
	}
	return []byte(u), nil
}

func isHex(s string, i int) bool {
	if i >= len(s) {
		return false
	}
	c := s[i]
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}
