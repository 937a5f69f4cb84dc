package imap

import "bytes"

// Limits of nginx's IMAP command parser (SPEC.md §3.1, §4.2).
const (
	maxTag  = 32
	maxArgs = 3
)

// parseStatus is the outcome of parsing the buffered bytes.
type parseStatus int

const (
	parseOK      parseStatus = iota // a complete command
	parseAgain                      // more bytes are needed
	parseInvalid                    // a parser error
	parseCont                       // a synchronizing literal wants "+ OK"
)

// command is one parsed command line. Slices point into the read buffer
// and are valid until the buffer is reused.
type command struct {
	tag    []byte
	hasTag bool // the tag was complete (followed by SP): replies use it
	verb   string
	args   [][]byte
	n      int // bytes consumed, through the final LF
	// contAt is the offset of a synchronizing literal's data, for
	// parseCont: the caller sends "+ OK" once per offset.
	contAt int
	// lineEnd is, for parseInvalid, the offset just past the LF that ends
	// the bad line, or -1 when the LF has not arrived yet.
	lineEnd int
	// id is the parameter list of an ID command (nil for NIL); set only
	// when the parser was asked to take ID (see parseCommandWith).
	id []IDField
}

var verbs = []string{"NOOP", "LOGIN", "LOGOUT", "STARTTLS", "CAPABILITY", "AUTHENTICATE", "ID"}

// parseCommand parses one command from b with nginx's grammar (SPEC §4.2,
// §4.5). contSent is the largest literal offset for which "+ OK" was
// already sent; a synchronizing literal beyond it yields parseCont.
func parseCommand(b []byte, contSent int) (command, parseStatus) {
	return parseCommandWith(b, contSent, false)
}

// parseCommandWith is parseCommand that also knows ID when withID is set
// (nginx does not); its argument is parsed by parseID.
func parseCommandWith(b []byte, contSent int, withID bool) (c command, st parseStatus) {
	p := 0
	invalid := func() (command, parseStatus) {
		c.lineEnd = -1
		if i := bytes.IndexByte(b[p:], '\n'); i >= 0 {
			c.lineEnd = p + i + 1
		}
		return c, parseInvalid
	}
	// Tag.
	for p < len(b) && isTagChar(b[p]) {
		p++
	}
	if p == len(b) {
		return c, parseAgain
	}
	if b[p] != ' ' || p > maxTag {
		return invalid()
	}
	c.tag, c.hasTag = b[:p], true
	for p < len(b) && b[p] == ' ' {
		p++
	}
	// Verb.
	start := p
	for p < len(b) && isLetter(b[p]) {
		p++
	}
	if p == len(b) {
		return c, parseAgain
	}
	if b[p] != ' ' && b[p] != '\r' && b[p] != '\n' {
		return invalid()
	}
	c.verb = knownVerb(b[start:p])
	if c.verb == "ID" && !withID {
		c.verb = ""
	}
	if c.verb == "" {
		return invalid()
	}
	if c.verb == "ID" {
		var next int
		c.id, next, st = parseID(b, p, contSent, &c)
		if st == parseInvalid {
			p = next
			return invalid()
		}
		c.n = next
		return c, st
	}
	// Arguments.
	for {
		for p < len(b) && b[p] == ' ' {
			p++
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
		switch b[p] {
		case '"':
			arg, next, st = parseQuoted(b, p+1)
		case '{':
			arg, next, st = parseLiteral(b, p+1, contSent, &c)
		default:
			arg, next, st = parseAtom(b, p)
		}
		switch st {
		case parseAgain, parseCont:
			return c, st
		case parseInvalid:
			p = next
			return invalid()
		}
		if c.args == nil {
			c.args = make([][]byte, 0, maxArgs) // one allocation at most
		}
		c.args = append(c.args, arg)
		p = next
	}
}

// parseAtom reads an atom: everything up to SP, CR or LF.
func parseAtom(b []byte, p int) ([]byte, int, parseStatus) {
	start := p
	for p < len(b) && b[p] != ' ' && b[p] != '\r' && b[p] != '\n' {
		p++
	}
	if p == len(b) {
		return nil, p, parseAgain
	}
	return b[start:p], p, parseOK
}

// parseQuoted reads a quoted string whose opening quote precedes p. A
// backslash escapes any byte but CR and LF. An unterminated string ends at
// CR/LF and is accepted, as nginx does. The result points into b when the
// string has no escape, else it is a copy.
func parseQuoted(b []byte, p int) ([]byte, int, parseStatus) {
	start := p
	for p < len(b) {
		switch b[p] {
		case '"':
			return b[start:p], p + 1, parseOK
		case '\\':
			return unescapeQuoted(b, start)
		case '\r', '\n':
			return b[start:p], p, parseOK
		}
		p++
	}
	return nil, p, parseAgain
}

// unescapeQuoted is parseQuoted for a string with an escape: it copies.
func unescapeQuoted(b []byte, p int) ([]byte, int, parseStatus) {
	out := []byte{}
	for p < len(b) {
		switch c := b[p]; c {
		case '"':
			return out, p + 1, parseOK
		case '\\':
			if p+1 == len(b) {
				return nil, p, parseAgain
			}
			if b[p+1] == '\r' || b[p+1] == '\n' {
				return nil, p + 1, parseInvalid
			}
			out = append(out, b[p+1])
			p += 2
		case '\r', '\n':
			return out, p, parseOK
		default:
			out = append(out, c)
			p++
		}
	}
	return nil, p, parseAgain
}

// parseLiteral reads {N} or {N+}, its line end and N bytes of data. nginx
// consumes one byte for {0}; after the data only SP, CR or LF may follow.
func parseLiteral(b []byte, p, contSent int, c *command) ([]byte, int, parseStatus) {
	data, p, st := literalData(b, p, contSent, c, 1)
	if st != parseOK {
		return data, p, st
	}
	if p == len(b) {
		return nil, p, parseAgain
	}
	if b[p] != ' ' && b[p] != '\r' && b[p] != '\n' {
		return nil, p, parseInvalid
	}
	return data, p, parseOK
}

// literalData reads {N} or {N+} (p just after the brace), its line end
// and N bytes of data; a synchronizing literal beyond contSent yields
// parseCont. {0} takes zero bytes as its content, or the next byte when
// zero is 1 (nginx's quirk). It returns the offset after the data.
func literalData(b []byte, p, contSent int, c *command, zero int) ([]byte, int, parseStatus) {
	n, digits := 0, 0
	for p < len(b) && b[p] >= '0' && b[p] <= '9' {
		n = n*10 + int(b[p]-'0')
		digits++
		if n > 1<<30 {
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
	sync := true
	if b[p] == '+' {
		sync = false
		p++
		if p == len(b) {
			return nil, p, parseAgain
		}
	}
	if b[p] != '}' {
		return nil, p, parseInvalid
	}
	p, st := lineEnd(b, p+1)
	if st != parseOK {
		return nil, p, st
	}
	if sync && p > contSent {
		c.contAt = p
		return nil, p, parseCont
	}
	if n == 0 {
		n = zero // nginx's {0} takes the next byte as its content
	}
	if len(b)-p < n {
		return nil, p, parseAgain
	}
	return b[p : p+n], p + n, parseOK
}

// lineEnd reads an optional CR and a LF at b[p:] and returns the offset
// after them.
func lineEnd(b []byte, p int) (int, parseStatus) {
	if p == len(b) {
		return p, parseAgain
	}
	if b[p] == '\r' {
		p++
		if p == len(b) {
			return p, parseAgain
		}
	}
	if b[p] != '\n' {
		return p, parseInvalid
	}
	return p + 1, parseOK
}

func isTagChar(c byte) bool {
	return isLetter(c) || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_'
}

func isLetter(c byte) bool { return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' }

func knownVerb(v []byte) string {
	for _, k := range verbs {
		if len(v) == len(k) && bytes.EqualFold(v, []byte(k)) {
			return k
		}
	}
	return ""
}
