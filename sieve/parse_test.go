package sieve

import (
	"bytes"
	"strings"
	"testing"
)

// parseCase is one parseCommand input and what it must give.
type parseCase struct {
	in       string
	response bool
	st       parseStatus
	verb     string
	args     []string
	atoms    []bool
	n        int // parseOK: bytes consumed
	lineEnd  int // parseInvalid: -1, or just past the LF of the bad line
}

func okN(in, verb string, args []string, atoms []bool, n int) parseCase {
	return parseCase{in: in, st: parseOK, verb: verb, args: args, atoms: atoms, n: n}
}

func okAll(in, verb string, args []string, atoms []bool) parseCase {
	return okN(in, verb, args, atoms, len(in))
}

func respOK(in string, args []string, atoms []bool) parseCase {
	c := okAll(in, "", args, atoms)
	c.response = true
	return c
}

func bad(in string, lineEnd int) parseCase {
	return parseCase{in: in, st: parseInvalid, lineEnd: lineEnd}
}

// badLine is a bad line whose LF is the last byte.
func badLine(in string) parseCase { return bad(in, len(in)) }

func again(in string) parseCase { return parseCase{in: in, st: parseAgain} }

var parseCases = []parseCase{
	// Commands without arguments; CRLF or LF; any case.
	okAll("CAPABILITY\r\n", "CAPABILITY", nil, nil),
	okAll("capability\n", "CAPABILITY", nil, nil),
	okAll("NoOp\r\n", "NOOP", nil, nil),
	okAll("NOOP   \r\n", "NOOP", nil, nil),
	okN("NOOP\r\nNOOP\r\n", "NOOP", nil, nil, 6),
	okN("LOGOUT\nCAPABILITY\n", "LOGOUT", nil, nil, 7),

	// Quoted strings, escapes unwrapped.
	okAll("NOOP \"tag\"\r\n", "NOOP", []string{"tag"}, []bool{false}),
	okAll("NOOP \"\"\r\n", "NOOP", []string{""}, []bool{false}),
	okAll(`NOOP "a\"b\\c"`+"\r\n", "NOOP", []string{`a"b\c`}, []bool{false}),
	okAll(`NOOP "\\\\"`+"\r\n", "NOOP", []string{`\\`}, []bool{false}),
	okAll("NOOP  \"x\"  \r\n", "NOOP", []string{"x"}, []bool{false}),
	okAll("NOOP \"é ü\"\r\n", "NOOP", []string{"é ü"}, []bool{false}),
	okAll("AUTHENTICATE \"PLAIN\" \""+irAlice+"\"\r\n", "AUTHENTICATE", []string{"PLAIN", irAlice}, []bool{false, false}),
	okAll("RENAMESCRIPT \"a b\" \"c\"\n", "RENAMESCRIPT", []string{"a b", "c"}, []bool{false, false}),

	// Literals: {n+} and {n}, CRLF or LF after the brace, any octets.
	okAll("AUTHENTICATE \"PLAIN\" {24+}\r\n"+irBob+"\r\n", "AUTHENTICATE", []string{"PLAIN", irBob}, []bool{false, false}),
	okAll("AUTHENTICATE \"PLAIN\" {24}\r\n"+irBob+"\r\n", "AUTHENTICATE", []string{"PLAIN", irBob}, []bool{false, false}),
	okAll("NOOP {3}\nabc\n", "NOOP", []string{"abc"}, []bool{false}),
	okAll("NOOP {0+}\r\n\r\n", "NOOP", []string{""}, []bool{false}),
	okAll("NOOP {000}\r\n\r\n", "NOOP", []string{""}, []bool{false}),
	okAll("NOOP {6+}\r\n\"a\r\nb\"\r\n", "NOOP", []string{"\"a\r\nb\""}, []bool{false}),
	okAll("NOOP {3}\r\n\x00\xff{\r\n", "NOOP", []string{"\x00\xff{"}, []bool{false}),
	okAll("PUTSCRIPT \"s\" {7+}\r\nkeep;\r\n\r\n", "PUTSCRIPT", []string{"s", "keep;\r\n"}, []bool{false, false}),

	// Atoms.
	okAll("AUTHENTICATE PLAIN AGFs=\r\n", "AUTHENTICATE", []string{"PLAIN", "AGFs="}, []bool{true, true}),
	okAll("HAVESPACE \"s\" 999\r\n", "HAVESPACE", []string{"s", "999"}, []bool{false, true}),
	okAll("NOOP a!#$%&'*+,-./:;<=>?@[\\]^_`|}~\r\n", "NOOP", []string{"a!#$%&'*+,-./:;<=>?@[\\]^_`|}~"}, []bool{true}),

	// Up to three arguments, of every kind.
	okAll("NOOP a \"b\" {1+}\r\nc\r\n", "NOOP", []string{"a", "b", "c"}, []bool{true, false, false}),
	okAll("NOOP a b c   \r\n", "NOOP", []string{"a", "b", "c"}, []bool{true, true, true}),

	// Bad command names.
	badLine("\r\n"),
	badLine("\n"),
	badLine(" NOOP\r\n"),
	badLine("1NOOP\r\n"),
	badLine("NO-OP\r\n"),
	badLine("NOOP\t\r\n"),
	badLine("NOOP\"x\"\r\n"),
	bad("1", -1),
	bad("NO-", -1),
	bad("\x00NOOP\r\nNOOP\r\n", 7),

	// Too many arguments.
	badLine("NOOP a b c d\r\n"),
	badLine("NOOP \"a\" \"b\" \"c\" \"d\"\r\n"),
	bad("NOOP a b c d", -1),
	bad("NOOP a b c {1+}\r\nd\r\n", 17), // the literal is not read: its LF ends the line

	// CR not followed by LF.
	badLine("NOOP\rX\r\n"),
	badLine("NOOP\r\r\n"),
	bad("NOOP\rX", -1),
	badLine("NOOP \"a\"\rb\n"),

	// Bad quoted strings.
	badLine("NOOP \"a\r\n"),
	bad("NOOP \"a\r\nNOOP\r\n", 9),
	bad("NOOP \"a\nb\"\n", 8),
	badLine("NOOP \"a\x00b\"\r\n"),
	badLine(`NOOP "a\x"` + "\r\n"),
	badLine(`NOOP "a\` + "\r\n"),
	bad(`NOOP "a\x`, -1),
	badLine("NOOP \"a\"b\r\n"),
	badLine("NOOP \"a\"\"b\"\r\n"),

	// Bad atoms.
	badLine("NOOP a\"b\"\r\n"),
	badLine("NOOP (TAG)\r\n"),
	badLine("NOOP a(\r\n"),
	badLine("NOOP a{1}\r\n"),
	badLine("NOOP a\x01\r\n"),
	badLine("NOOP \x7f\r\n"),
	badLine("NOOP \xc3\xa9\r\n"),

	// Bad literals.
	badLine("NOOP {}\r\n"),
	badLine("NOOP {+}\r\n"),
	badLine("NOOP {x}\r\n"),
	badLine("NOOP {3-}\r\n"),
	badLine("NOOP {3++}\r\n"),
	badLine("NOOP {3} \r\n"),
	badLine("NOOP {3}X\r\n"),
	badLine("NOOP {3}\rX\r\n"),
	badLine("NOOP {3}\r\nabcX\r\n"),
	badLine("NOOP {3}\r\nabc\"d\"\r\n"),
	badLine("NOOP {1073741825+}\r\n"),
	badLine("NOOP {99999999999999999999999}\r\n"),
	bad("NOOP {1073741825", -1),
	bad("NOOP {3}\rX", -1),

	// More bytes needed.
	again(""),
	again("N"),
	again("NOOP"),
	again("NOOP "),
	again("NOOP\r"),
	again("NOOP \"ab"),
	again("NOOP \"a\\"),
	again("NOOP \"a\\\""),
	again("NOOP \"ab\""),
	again("NOOP \"ab\" "),
	again("NOOP \"ab\"\r"),
	again("NOOP abc"),
	again("NOOP {"),
	again("NOOP {12"),
	again("NOOP {12+"),
	again("NOOP {12}"),
	again("NOOP {12+}\r"),
	again("NOOP {3}\r\nab"),
	again("NOOP {3}\r\nabc"),
	again("NOOP {1073741824+}\r\n"),
	again("NOOP a b c"),
	again("NOOP a b c "),

	// SASL responses: no command name, one string or a bare "*".
	respOK("\""+irAlice+"\"\r\n", []string{irAlice}, []bool{false}),
	respOK("{20+}\r\n"+irAlice+"\r\n", []string{irAlice}, []bool{false}),
	respOK("{20}\r\n"+irAlice+"\r\n", []string{irAlice}, []bool{false}),
	respOK("\"*\"\r\n", []string{"*"}, []bool{false}),
	respOK("*\r\n", []string{"*"}, []bool{true}),
	respOK("*\n", []string{"*"}, []bool{true}),
	respOK("\"\"\r\n", []string{""}, []bool{false}),
	respOK("\r\n", nil, nil),
	respOK("\"a\" \"b\"\r\n", []string{"a", "b"}, []bool{false, false}),
	respOK("\"a\"  \r\n", []string{"a"}, []bool{false}),
	respOK("NOOP\r\n", []string{"NOOP"}, []bool{true}),
	{in: " \"a\"\r\n", response: true, st: parseInvalid, lineEnd: 6},
	{in: "\"a\r\n", response: true, st: parseInvalid, lineEnd: 4},
	{in: "\"a\"x\r\n", response: true, st: parseInvalid, lineEnd: 6},
	{in: "\"a\" \"b\" \"c\" \"d\"\r\n", response: true, st: parseInvalid, lineEnd: 17},
	{in: "\"a\\x\"", response: true, st: parseInvalid, lineEnd: -1},
	{in: "", response: true, st: parseAgain},
	{in: "\"AGFs", response: true, st: parseAgain},
	{in: "{4+}\r\nAG", response: true, st: parseAgain},
	{in: "*", response: true, st: parseAgain},
	{in: "\r", response: true, st: parseAgain},
}

// check compares a parseCommand result with tc.
func (tc parseCase) check(t *testing.T, c command, st parseStatus) {
	t.Helper()
	if st != tc.st {
		t.Fatalf("parseCommand(%q, %v) status %d, want %d (%+v)", tc.in, tc.response, st, tc.st, c)
	}
	switch st {
	case parseOK:
		if c.verb != tc.verb || c.n != tc.n || len(c.args) != len(tc.args) || len(c.atoms) != len(tc.atoms) {
			t.Fatalf("parseCommand(%q, %v) = verb %q n %d args %q atoms %v; want %q %d %q %v",
				tc.in, tc.response, c.verb, c.n, c.args, c.atoms, tc.verb, tc.n, tc.args, tc.atoms)
		}
		for i := range c.args {
			if string(c.args[i]) != tc.args[i] || c.atoms[i] != tc.atoms[i] {
				t.Fatalf("parseCommand(%q, %v) arg %d = %q (atom %v), want %q (atom %v)",
					tc.in, tc.response, i, c.args[i], c.atoms[i], tc.args[i], tc.atoms[i])
			}
		}
	case parseInvalid:
		if c.lineEnd != tc.lineEnd {
			t.Fatalf("parseCommand(%q, %v) lineEnd %d, want %d", tc.in, tc.response, c.lineEnd, tc.lineEnd)
		}
	}
}

// TestParseCommand runs the table; a parseOK result must not change when
// more bytes follow the line, and every proper prefix of a good line must
// ask for more bytes.
func TestParseCommand(t *testing.T) {
	for _, tc := range parseCases {
		c, st := parseCommand([]byte(tc.in), tc.response)
		tc.check(t, c, st)
		if tc.st != parseOK {
			continue
		}
		for _, tail := range []string{"X", "NOOP\r\n", "\r\n", "{5+}\r\n", "\"", "\n"} {
			c, st := parseCommand([]byte(tc.in+tail), tc.response)
			tc.check(t, c, st)
		}
		for i := 0; i < tc.n; i++ {
			if c, st := parseCommand([]byte(tc.in[:i]), tc.response); st != parseAgain {
				t.Fatalf("parseCommand(%q, %v) (prefix of %q) status %d %+v, want parseAgain", tc.in[:i], tc.response, tc.in, st, c)
			}
		}
	}
}

// TestParseCommandPrefixes: no prefix of any table input panics or gives
// an out-of-range result.
func TestParseCommandPrefixes(t *testing.T) {
	for _, tc := range parseCases {
		for _, response := range []bool{false, true} {
			for i := 0; i <= len(tc.in); i++ {
				checkInvariants(t, []byte(tc.in[:i]), response)
			}
		}
	}
}

// TestParseCommandCopies: an argument with escapes is a copy; one without
// points into the input (no allocation for the common case), and the
// result never aliases a later part of the buffer wrongly.
func TestParseCommandCopies(t *testing.T) {
	in := []byte(`NOOP "a\"b" "cd"` + "\r\n")
	c, st := parseCommand(in, false)
	if st != parseOK || string(c.args[0]) != `a"b` || string(c.args[1]) != "cd" {
		t.Fatalf("%d %q", st, c.args)
	}
	copy(in, bytes.Repeat([]byte{'#'}, len(in)))
	if string(c.args[0]) != `a"b` {
		t.Fatalf("escaped argument aliases the input: %q", c.args[0])
	}
	if string(c.args[1]) != "##" {
		t.Fatalf("plain argument is a copy: %q", c.args[1])
	}
}

// checkInvariants parses b and checks what must hold for any input.
func checkInvariants(t *testing.T, b []byte, response bool) {
	t.Helper()
	c, st := parseCommand(b, response)
	switch st {
	case parseOK:
		if c.n <= 0 || c.n > len(b) || b[c.n-1] != '\n' {
			t.Fatalf("parseOK with n=%d on %q", c.n, b)
		}
		if response != (c.verb == "") {
			t.Fatalf("verb %q with response %v on %q", c.verb, response, b)
		}
		if c.verb != strings.ToUpper(c.verb) || !response && !isVerb(b[:len(c.verb)]) {
			t.Fatalf("verb %q on %q", c.verb, b)
		}
		if len(c.args) > maxArgs || len(c.atoms) != len(c.args) {
			t.Fatalf("%d arguments, %d atom flags on %q", len(c.args), len(c.atoms), b)
		}
		for i, a := range c.args {
			if c.atoms[i] && (len(a) == 0 || bytes.ContainsFunc(a, func(r rune) bool { return r > 0x7e || r <= ' ' || strings.ContainsRune("\"{()", r) })) {
				t.Fatalf("atom %q on %q", a, b)
			}
		}
		// The line alone parses the same: nothing after its LF was read.
		c2, st2 := parseCommand(b[:c.n], response)
		if st2 != parseOK || c2.n != c.n || c2.verb != c.verb || len(c2.args) != len(c.args) {
			t.Fatalf("%q parses differently alone (%d %+v) than in %q (%+v)", b[:c.n], st2, c2, b, c)
		}
		for i := range c.args {
			if !bytes.Equal(c.args[i], c2.args[i]) {
				t.Fatalf("argument %d differs on %q", i, b)
			}
		}
	case parseInvalid:
		if c.lineEnd != -1 && (c.lineEnd <= 0 || c.lineEnd > len(b) || b[c.lineEnd-1] != '\n') {
			t.Fatalf("parseInvalid with lineEnd=%d on %q", c.lineEnd, b)
		}
	case parseAgain:
	default:
		t.Fatalf("status %d on %q", st, b)
	}
}

func isVerb(b []byte) bool {
	for _, c := range b {
		if !isLetter(c) {
			return false
		}
	}
	return len(b) > 0
}

// FuzzParseCommand: parseCommand never panics and its results stay in
// range, in both modes.
func FuzzParseCommand(f *testing.F) {
	for _, s := range []string{
		"CAPABILITY\r\n",
		"NOOP \"STARTTLS-SYNC-42\"\r\n",
		"NOOP {3+}\r\nabc\r\n",
		"AUTHENTICATE \"PLAIN\" {24+}\r\n" + irBob + "\r\n",
		"AUTHENTICATE \"PLAIN\" \"" + irAlice + "\"\r\nLISTSCRIPTS\r\n",
		"AUTHENTICATE \"LOGIN\"\r\n",
		"PUTSCRIPT \"s\" {7+}\r\nkeep;\r\n\r\n",
		`NOOP "a\"b\\c"` + "\r\n",
		"NOOP a b c d\r\n",
		"NOOP\rX\r\n",
		"NOOP {1073741825+}\r\n",
		"STARTTLS\r\n",
		"LOGOUT\r\n",
	} {
		f.Add([]byte(s), false)
	}
	for _, s := range []string{"\"" + irAlice + "\"\r\n", "{20+}\r\n" + irAlice + "\r\n", "*\r\n", "\"*\"\r\n", "\r\n", " \"x\"\r\n"} {
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, b []byte, response bool) {
		checkInvariants(t, b, response)
	})
}
