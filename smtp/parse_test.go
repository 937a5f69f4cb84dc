package smtp

import (
	"bytes"
	"strings"
	"testing"
)

func TestParseCommand(t *testing.T) {
	cases := []struct {
		in   string
		sasl bool
		st   parseStatus
		verb string
		args []string
		text string
		n    int
	}{
		{"NOOP\r\n", false, parseOK, "NOOP", nil, "NOOP", 6},
		{"noop\n", false, parseOK, "NOOP", nil, "noop", 5},
		{"HELO a\r\nNOOP\r\n", false, parseOK, "HELO", []string{"a"}, "HELO a", 8},
		{"mail  FROM:<a@b>  SIZE=100  \r\n", false, parseOK, "MAIL", []string{"FROM:<a@b>", "SIZE=100"}, "mail  FROM:<a@b>  SIZE=100", 30},
		{"StartTLS\r\n", false, parseOK, "STARTTLS", nil, "StartTLS", 10},
		{"AUTH PLAIN a\tb\r\n", false, parseOK, "AUTH", []string{"PLAIN", "a\tb"}, "AUTH PLAIN a\tb", 16},
		{"NOOP a a a a a a a a a a a\r\n", false, parseOK, "NOOP", strings.Fields("a a a a a a a a a a a"), "NOOP a a a a a a a a a a a", 28},
		{"NOOP a a a a a a a a a a a a\r\n", false, parseInvalid, "", nil, "", 0},
		{"NOOP", false, parseAgain, "", nil, "", 0},
		{"NOOP ", false, parseAgain, "", nil, "", 0},
		{"NOOP a", false, parseAgain, "", nil, "", 0},
		{"NOOP a\r", false, parseAgain, "", nil, "", 0},
		{"NOOP\rx\r\n", false, parseInvalid, "", nil, "", 0},
		{"DATA\r\n", false, parseInvalid, "", nil, "", 0},
		{"\r\n", false, parseInvalid, "", nil, "", 0},
		{" NOOP\r\n", false, parseInvalid, "", nil, "", 0},
		{"NO0P\r\n", false, parseInvalid, "", nil, "", 0},
		{"NOOP\t\r\n", false, parseInvalid, "", nil, "", 0},
		// SASL response lines: arguments from the first byte on.
		{"AHUAcA==\r\n", true, parseOK, "", []string{"AHUAcA=="}, "", 10},
		{"\r\n", true, parseOK, "", []string{""}, "", 2},
		{"\n", true, parseOK, "", []string{""}, "", 1},
		{" x\r\n", true, parseOK, "", []string{"", "x"}, "", 4},
		{"a b\r\n", true, parseOK, "", []string{"a", "b"}, "", 5},
		{"a\rb\r\n", true, parseInvalid, "", nil, "", 0},
		{"a", true, parseAgain, "", nil, "", 0},
		{"", true, parseAgain, "", nil, "", 0},
		{"", false, parseAgain, "", nil, "", 0},
	}
	for _, c := range cases {
		cmd, st := parseCommand([]byte(c.in), c.sasl)
		if st != c.st {
			t.Errorf("%q: status %d, want %d", c.in, st, c.st)
			continue
		}
		if st != parseOK {
			continue
		}
		var args []string
		for _, a := range cmd.args {
			args = append(args, string(a))
		}
		if cmd.verb != c.verb || strings.Join(args, "|") != strings.Join(c.args, "|") || len(args) != len(c.args) ||
			string(cmd.text) != c.text || cmd.n != c.n {
			t.Errorf("%q: got %q %q %q %d", c.in, cmd.verb, args, cmd.text, cmd.n)
		}
	}
}

// TestParseInvalidLineEnd: a bad line is skipped through its LF, and only
// once that LF is there.
func TestParseInvalidLineEnd(t *testing.T) {
	cases := map[string]int{
		"DATA\r\nNOOP\r\n": 6,
		"DATA x y":         -1,
		"\nNOOP\r\n":       1,
		"NOOP\r\r\n":       7,
		"X\x00Y\n":         4,
	}
	for in, want := range cases {
		cmd, st := parseCommand([]byte(in), false)
		if st != parseInvalid || cmd.lineEnd != want {
			t.Errorf("%q: status %d lineEnd %d, want %d", in, st, cmd.lineEnd, want)
		}
	}
}

// FuzzParseCommand checks the parser's invariants on arbitrary input: no
// panic; a complete command ends at a LF and its arguments hold no SP, CR
// or LF; a bad line ends at a LF; text is a prefix of the line; and
// parsing a prefix of a complete line never yields a different command.
func FuzzParseCommand(f *testing.F) {
	for _, s := range []string{"NOOP\r\n", "mail  FROM:<a>  SIZE=1 \r\n", "AUTH PLAIN AHUAcA==\r\n", "DATA\r\n",
		"\r\n", " x\r\n", "NOOP\rx\n", "NOOP a a a a a a a a a a a a\r\n", "STARTTLS\n"} {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, b []byte, sasl bool) {
		cmd, st := parseCommand(b, sasl)
		switch st {
		case parseOK:
			if cmd.n < 1 || cmd.n > len(b) || b[cmd.n-1] != '\n' || bytes.IndexByte(b[:cmd.n-1], '\n') >= 0 {
				t.Fatalf("bad end %d in %q", cmd.n, b)
			}
			if len(cmd.args) > maxArgs {
				t.Fatalf("%d arguments", len(cmd.args))
			}
			for _, a := range cmd.args {
				if bytes.ContainsAny(a, " \r\n") {
					t.Fatalf("argument %q", a)
				}
			}
			if sasl != (cmd.verb == "") || sasl && len(cmd.args) == 0 {
				t.Fatalf("verb %q args %d sasl %v", cmd.verb, len(cmd.args), sasl)
			}
			if !sasl && (!bytes.HasPrefix(b, cmd.text) || bytes.ContainsAny(cmd.text, "\r\n")) {
				t.Fatalf("text %q of %q", cmd.text, b)
			}
			for i := 0; i < cmd.n; i++ {
				if _, st := parseCommand(b[:i], sasl); st == parseOK {
					t.Fatalf("prefix %q of %q is a command", b[:i], b)
				}
			}
		case parseInvalid:
			if cmd.lineEnd != -1 && (cmd.lineEnd < 1 || cmd.lineEnd > len(b) || b[cmd.lineEnd-1] != '\n') {
				t.Fatalf("bad line end %d in %q", cmd.lineEnd, b)
			}
			if cmd.lineEnd == -1 && bytes.IndexByte(b, '\n') >= 0 {
				t.Fatalf("LF not found in %q", b)
			}
		case parseAgain:
			if bytes.IndexByte(b, '\n') >= 0 {
				t.Fatalf("complete line %q wants more", b)
			}
		}
	})
}
