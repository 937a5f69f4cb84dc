package smtp

import "bytes"

// maxArgs is the most arguments nginx's SMTP parser accepts (SPEC §3.1).
const maxArgs = 11

// parseStatus is the outcome of parsing the buffered bytes.
type parseStatus int

const (
	parseOK      parseStatus = iota // a complete command
	parseAgain                      // more bytes are needed
	parseInvalid                    // a parser error (counted for max_errors)
)

// command is one parsed line. Slices point into the read buffer and are
// valid until the buffer is reused.
type command struct {
	verb string   // upper-case verb; "" for a SASL response line
	args [][]byte // at most maxArgs
	// text runs from the first byte of the verb to the last byte of the
	// last argument: the MAIL/RCPT command as typed (SPEC §6.6).
	text []byte
	n    int // bytes consumed, through the final LF
	// lineEnd is, for parseInvalid, the offset just past the LF that ends
	// the bad line, or -1 when that LF has not arrived yet.
	lineEnd int
}

// Verbs nginx's SMTP parser knows (SPEC §6.4). Every other verb is a
// parser error.
var verbs = []string{"HELO", "EHLO", "QUIT", "AUTH", "NOOP", "MAIL", "RSET", "RCPT", "VRFY", "EXPN", "HELP", "STARTTLS"}

// parseCommand parses one line from b with nginx's SMTP grammar (SPEC
// §3.1): a verb of letters ended by SP, CR or LF, then arguments
// separated by runs of SP, then LF optionally preceded by CR. A CR
// followed by anything but LF, an unknown verb, a byte other than a letter
// in the verb, an empty line, a line starting with SP and a twelfth
// argument are parser errors.
//
// With sasl set, the line is a SASL response: nginx's parser is then in
// its argument state, so the whole line is split into arguments from its
// first byte on (a leading SP makes an empty first argument) and there is
// no verb.
func parseCommand(b []byte, sasl bool) (c command, st parseStatus) {
	if len(b) == 0 {
		return c, parseAgain
	}
	p := 0
	invalid := func() (command, parseStatus) {
		c.lineEnd = -1
		if i := bytes.IndexByte(b[p:], '\n'); i >= 0 {
			c.lineEnd = p + i + 1
		}
		return c, parseInvalid
	}
	if !sasl {
		for p < len(b) && isLetter(b[p]) {
			p++
		}
		if p == len(b) {
			return c, parseAgain
		}
		if b[p] != ' ' && b[p] != '\r' && b[p] != '\n' {
			return invalid()
		}
		if c.verb = knownVerb(b[:p]); c.verb == "" {
			return invalid()
		}
		c.text = b[:p]
		if b[p] == ' ' {
			for p < len(b) && b[p] == ' ' {
				p++
			}
			if p == len(b) {
				return c, parseAgain
			}
		}
	}
	// Here p is at the start of an argument, or at CR/LF.
	for {
		if b[p] != '\r' && b[p] != '\n' || sasl && len(c.args) == 0 {
			if len(c.args) == maxArgs {
				return invalid()
			}
			start := p
			for p < len(b) && b[p] != ' ' && b[p] != '\r' && b[p] != '\n' {
				p++
			}
			if p == len(b) {
				return c, parseAgain
			}
			c.args = append(c.args, b[start:p])
			if !sasl {
				c.text = b[:p]
			}
			for p < len(b) && b[p] == ' ' {
				p++
			}
			if p == len(b) {
				return c, parseAgain
			}
		}
		switch b[p] {
		case '\n':
			c.n = p + 1
			return c, parseOK
		case '\r':
			if p+1 == len(b) {
				return c, parseAgain
			}
			p++
			if b[p] != '\n' {
				return invalid()
			}
			c.n = p + 1
			return c, parseOK
		}
	}
}

func isLetter(c byte) bool { return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' }

// knownVerb returns the upper-case verb v names, or "" (matched without
// regard to case, as nginx does).
func knownVerb(v []byte) string {
	for _, k := range verbs {
		if len(v) == len(k) && bytes.EqualFold(v, []byte(k)) {
			return k
		}
	}
	return ""
}
