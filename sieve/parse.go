package sieve

import "bytes"

// Limits of the command parser.
const (
	maxArgs   = 3       // AUTHENTICATE mechanism, initial response; NOOP tag
	maxLength = 1 << 30 // the largest literal length accepted
)

// parseStatus is the outcome of parsing the buffered bytes.
type parseStatus int

const (
	parseOK      parseStatus = iota // a complete command
	parseAgain                      // more bytes are needed
	parseInvalid                    // a syntax error
)

// command is one parsed line (RFC 5804 §4): a command name and its
// arguments, quoted strings and literals unwrapped. Slices point into
// the read buffer, or are copies when a quoted string had escapes.
type command struct {
	verb string // upper case; "" for a SASL response line
	args [][]byte
	// atoms tells, per argument, whether it was a bare atom rather than
	// a string (a SASL response "*" is a bare cancel).
	atoms []bool
	n     int // bytes consumed, through the final LF
	// lineEnd is, for parseInvalid, the offset just past the LF that ends
	// the bad line, or -1 when that LF has not arrived yet.
	lineEnd int
}

// parseCommand parses one line from b. With response set, the line is a
// SASL response: no command name, one string (or a bare "*").
//
// Grammar: a command name of letters, then arguments separated by runs
// of SP: quoted strings ("…" with \" and \\ escapes, no CR or LF),
// literals ({N} or {N+}, CRLF, N octets) or atoms (printable bytes other
// than SP, '"', '{', '(' and ')'); then CRLF or LF.
func parseCommand(b []byte, response bool) (c command, st parseStatus) {
	p := 0
	invalid := func() (command, parseStatus) {
		c.lineEnd = -1
		if i := bytes.IndexByte(b[p:], '\n'); i >= 0 {
			c.lineEnd = p + i + 1
		}
		return c, parseInvalid
	}
	if !response {
		for p < len(b) && isLetter(b[p]) {
			p++
		}
		if p == len(b) {
			return c, parseAgain
		}
		if p == 0 || b[p] != ' ' && b[p] != '\r' && b[p] != '\n' {
			return invalid()
		}
		c.verb = string(bytes.ToUpper(b[:p]))
	}
	for {
		if !response || len(c.args) > 0 {
			for p < len(b) && b[p] == ' ' {
				p++
			}
		}
		if p == len(b) {
			return c, parseAgain
		}
		switch b[p] {
		case '\r':
			if p+1 == len(b) {
				return c, parseAgain
			}
			if b[p+1] != '\n' {
				p++
				return invalid()
			}
			c.n = p + 2
			return c, parseOK
		case '\n':
			c.n = p + 1
			return c, parseOK
		}
		if len(c.args) == maxArgs {
			return invalid()
		}
		var arg []byte
		var next int
		var st parseStatus
		atom := false
		switch b[p] {
		case '"':
			arg, next, st = parseQuoted(b, p+1)
		case '{':
			arg, next, st = parseLiteral(b, p+1)
		default:
			atom = true
			arg, next, st = parseAtom(b, p)
		}
		switch st {
		case parseAgain:
			return c, st
		case parseInvalid:
			p = next
			return invalid()
		}
		c.args = append(c.args, arg)
		c.atoms = append(c.atoms, atom)
		p = next
		if p < len(b) && b[p] != ' ' && b[p] != '\r' && b[p] != '\n' {
			return invalid()
		}
	}
}

// parseAtom reads an atom starting at p.
func parseAtom(b []byte, p int) ([]byte, int, parseStatus) {
	start := p
	for p < len(b) && isAtomChar(b[p]) {
		p++
	}
	if p == start {
		return nil, p, parseInvalid
	}
	if p == len(b) {
		return nil, p, parseAgain
	}
	return b[start:p], p, parseOK
}

// parseQuoted reads a quoted string whose opening quote precedes p. The
// result points into b when the string has no escape, else it is a copy.
func parseQuoted(b []byte, p int) ([]byte, int, parseStatus) {
	start := p
	var out []byte
	for p < len(b) {
		switch c := b[p]; c {
		case '"':
			if out == nil {
				return b[start:p], p + 1, parseOK
			}
			return out, p + 1, parseOK
		case '\\':
			if p+1 == len(b) {
				return nil, p, parseAgain
			}
			if e := b[p+1]; e != '"' && e != '\\' {
				return nil, p + 1, parseInvalid
			}
			if out == nil {
				out = append([]byte{}, b[start:p]...)
			}
			out = append(out, b[p+1])
			p += 2
		case '\r', '\n', 0:
			return nil, p, parseInvalid
		default:
			if out != nil {
				out = append(out, c)
			}
			p++
		}
	}
	return nil, p, parseAgain
}

// parseLiteral reads {N} or {N+} (the opening brace precedes p), its
// line end and N octets. A client never waits for a continuation in
// ManageSieve: both forms are followed by the data at once.
func parseLiteral(b []byte, p int) ([]byte, int, parseStatus) {
	n, digits := 0, 0
	for p < len(b) && b[p] >= '0' && b[p] <= '9' {
		n = n*10 + int(b[p]-'0')
		digits++
		if n > maxLength {
			return nil, p, parseInvalid
		}
		p++
	}
	if p == len(b) {
		return nil, p, parseAgain
	}
	if digits == 0 {
		return nil, p, parseInvalid
	}
	if b[p] == '+' {
		p++
		if p == len(b) {
			return nil, p, parseAgain
		}
	}
	if b[p] != '}' {
		return nil, p, parseInvalid
	}
	p++
	if p == len(b) {
		return nil, p, parseAgain
	}
	if b[p] == '\r' {
		p++
		if p == len(b) {
			return nil, p, parseAgain
		}
	}
	if b[p] != '\n' {
		return nil, p, parseInvalid
	}
	p++
	if len(b)-p < n {
		return nil, p, parseAgain
	}
	return b[p : p+n], p + n, parseOK
}

func isLetter(c byte) bool { return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' }

func isAtomChar(c byte) bool {
	return c > ' ' && c < 0x7f && c != '"' && c != '{' && c != '(' && c != ')'
}
