package pop3

import "bytes"

// maxArgs is the most arguments nginx's POP3 parser accepts; starting one
// more is a parser error (SPEC §3.1).
const maxArgs = 3

// parseStatus is the outcome of parsing the buffered bytes.
type parseStatus int

const (
	parseOK      parseStatus = iota // a complete command
	parseAgain                      // more bytes are needed
	parseInvalid                    // a parser error; the bad line is complete
)

// command is one parsed line. Slices point into the read buffer and are
// valid until the buffer is reused.
type command struct {
	verb string // upper case; "" for a SASL response line
	args [][]byte
	// n is the number of bytes consumed through the final LF, for
	// parseOK and parseInvalid (a bad line is skipped whole).
	n int
}

// verbs are the only verbs nginx's POP3 parser knows (SPEC §5.2).
var verbs = []string{"USER", "PASS", "APOP", "QUIT", "CAPA", "AUTH", "NOOP", "STLS"}

// Parser states after the verb, named after nginx's.
const (
	stSpaces   = iota // sw_spaces_before_argument
	stArgument        // sw_argument
	stAlmost          // sw_almost_done: CR seen, LF must follow
)

// parseCommand parses one line from b with nginx's POP3 grammar (SPEC
// §3.1, §5.2). The verb is four ASCII letters from the known set, matched
// case-insensitively and ended by SP, CR or LF; arguments are separated by
// SP runs, except that for USER and PASS a SP does not end the argument
// (inner and trailing spaces are kept). A CR must be followed by LF. sasl
// parses a SASL response line: no verb, the line starts inside the first
// argument, so an empty line is one empty argument.
//
// A parser error is reported only once the LF ending the bad line is
// buffered (parseInvalid, n past that LF); until then the result is
// parseAgain, so a bad line that fills the buffer is "too long", as with
// nginx.
func parseCommand(b []byte, sasl bool) (c command, st parseStatus) {
	p := 0
	invalid := func() (command, parseStatus) {
		i := bytes.IndexByte(b[p:], '\n')
		if i < 0 {
			return command{}, parseAgain
		}
		return command{n: p + i + 1}, parseInvalid
	}
	state, argStart, spaceEnds := stArgument, 0, true
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
		spaceEnds = c.verb != "USER" && c.verb != "PASS"
		switch b[p] {
		case ' ':
			state = stSpaces
		case '\r':
			state = stAlmost
		case '\n':
			c.n = p + 1
			return c, parseOK
		}
		p++
	}
	for ; p < len(b); p++ {
		ch := b[p]
		switch state {
		case stSpaces:
			switch ch {
			case ' ':
			case '\r':
				state = stAlmost
			case '\n':
				c.n = p + 1
				return c, parseOK
			default:
				if len(c.args) == maxArgs {
					return invalid()
				}
				state, argStart = stArgument, p
			}
		case stArgument:
			if ch == ' ' && !spaceEnds {
				continue
			}
			switch ch {
			case ' ':
				c.args = append(c.args, b[argStart:p])
				state = stSpaces
			case '\r':
				c.args = append(c.args, b[argStart:p])
				state = stAlmost
			case '\n':
				c.args = append(c.args, b[argStart:p])
				c.n = p + 1
				return c, parseOK
			}
		case stAlmost:
			if ch != '\n' {
				return invalid()
			}
			c.n = p + 1
			return c, parseOK
		}
	}
	return c, parseAgain
}

func isLetter(c byte) bool { return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' }

// knownVerb returns the canonical verb for v, or "" when v is not one.
func knownVerb(v []byte) string {
	if len(v) != 4 {
		return ""
	}
	for _, k := range verbs {
		if bytes.EqualFold(v, []byte(k)) {
			return k
		}
	}
	return ""
}
