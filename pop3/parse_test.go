package pop3

import (
	"strings"
	"testing"
)

func TestParseCommand(t *testing.T) {
	type want struct {
		st   parseStatus
		verb string
		args []string
		n    int
	}
	cases := []struct {
		in   string
		sasl bool
		want want
	}{
		{"NOOP\r\n", false, want{parseOK, "NOOP", nil, 6}},
		{"noop\n", false, want{parseOK, "NOOP", nil, 5}},
		{"CaPa\r\nrest", false, want{parseOK, "CAPA", nil, 6}},
		{"NOOP   \r\n", false, want{parseOK, "NOOP", nil, 9}},
		{"APOP  bob   digest\r\n", false, want{parseOK, "APOP", []string{"bob", "digest"}, 20}},
		{"AUTH PLAIN AHUAcA==\r\n", false, want{parseOK, "AUTH", []string{"PLAIN", "AHUAcA=="}, 21}},
		{"AUTH a b c\r\n", false, want{parseOK, "AUTH", []string{"a", "b", "c"}, 12}},
		{"AUTH a b c \r\n", false, want{parseOK, "AUTH", []string{"a", "b", "c"}, 13}},
		{"AUTH a\tb\x00c\r\n", false, want{parseOK, "AUTH", []string{"a\tb\x00c"}, 12}},
		{"USER a b \r\n", false, want{parseOK, "USER", []string{"a b "}, 11}},
		{"USER   a\r\n", false, want{parseOK, "USER", []string{"a"}, 10}},
		{"PASS p w d e f\n", false, want{parseOK, "PASS", []string{"p w d e f"}, 15}},
		{"USER\r\n", false, want{parseOK, "USER", nil, 6}},
		{"USER  \r\n", false, want{parseOK, "USER", nil, 8}},
		{"STAT\r\n", false, want{parseInvalid, "", nil, 6}},
		{"CAPAX\r\nNOOP\r\n", false, want{parseInvalid, "", nil, 7}},
		{"CAP\r\n", false, want{parseInvalid, "", nil, 5}},
		{" CAPA\r\n", false, want{parseInvalid, "", nil, 7}},
		{"\r\n", false, want{parseInvalid, "", nil, 2}},
		{"\n", false, want{parseInvalid, "", nil, 1}},
		{"NO1P\r\n", false, want{parseInvalid, "", nil, 6}},
		{"NOOP\tx\r\n", false, want{parseInvalid, "", nil, 8}},
		{"NOOP\rx\r\n", false, want{parseInvalid, "", nil, 8}},
		{"NOOP\r\r\n", false, want{parseInvalid, "", nil, 7}},
		{"PASS a\rb\r\n", false, want{parseInvalid, "", nil, 10}},
		{"AUTH a b c d\r\n", false, want{parseInvalid, "", nil, 14}},
		{"STAT", false, want{parseAgain, "", nil, 0}},
		{"STAT 1", false, want{parseAgain, "", nil, 0}},
		{"NOOP\r", false, want{parseAgain, "NOOP", nil, 0}},
		{"USER bob", false, want{parseAgain, "USER", nil, 0}},
		{"", false, want{parseAgain, "", nil, 0}},
		// SASL response lines: no verb, the first token is the blob.
		{"AHUAcA==\r\n", true, want{parseOK, "", []string{"AHUAcA=="}, 10}},
		{"\r\n", true, want{parseOK, "", []string{""}, 2}},
		{"\n", true, want{parseOK, "", []string{""}, 1}},
		{"*\r\n", true, want{parseOK, "", []string{"*"}, 3}},
		{" dQ==\r\n", true, want{parseOK, "", []string{"", "dQ=="}, 7}},
		{"dQ== x y\r\n", true, want{parseOK, "", []string{"dQ==", "x", "y"}, 10}},
		{"a b c d\r\n", true, want{parseInvalid, "", nil, 9}},
		{"dQ==\rx\n", true, want{parseInvalid, "", nil, 7}},
		{"dQ==", true, want{parseAgain, "", nil, 0}},
		{"", true, want{parseAgain, "", nil, 0}},
	}
	for _, c := range cases {
		got, st := parseCommand([]byte(c.in), c.sasl)
		var args []string
		for _, a := range got.args {
			args = append(args, string(a))
		}
		w := c.want
		if st != w.st || (st != parseAgain && got.n != w.n) || (st == parseOK && (got.verb != w.verb ||
			strings.Join(args, "|") != strings.Join(w.args, "|") || len(args) != len(w.args))) {
			t.Errorf("parseCommand(%q, %v) = st %d verb %q args %q n %d; want %+v",
				c.in, c.sasl, st, got.verb, args, got.n, w)
		}
	}
}

// TestParsePrefixes: every proper prefix of a valid line needs more bytes,
// so a line split across reads parses as a whole.
func TestParsePrefixes(t *testing.T) {
	for _, line := range []string{"USER a b \r\n", "AUTH PLAIN AHUAcA==\r\n", "STAT junk\r\n"} {
		for i := range len(line) {
			if _, st := parseCommand([]byte(line[:i]), false); st != parseAgain {
				t.Errorf("prefix %q: st %d", line[:i], st)
			}
		}
	}
}

func FuzzParseCommand(f *testing.F) {
	for _, s := range []string{
		"NOOP\r\n", "USER a b \r\n", "PASS  x\r\n", "AUTH PLAIN AHUAcA==\r\n", "APOP a b c d\r\n",
		"STAT\r\n", " CAPA\r\n", "\r\n", "NOOP\rx\n", "dQ== x\r\n",
	} {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, b []byte, sasl bool) {
		c, st := parseCommand(b, sasl)
		switch st {
		case parseOK:
			if c.n <= 0 || c.n > len(b) || b[c.n-1] != '\n' {
				t.Fatalf("parseOK with n=%d on %q", c.n, b)
			}
			if sasl != (c.verb == "") || (!sasl && knownVerb([]byte(c.verb)) != c.verb) {
				t.Fatalf("verb %q (sasl %v) on %q", c.verb, sasl, b)
			}
			if len(c.args) > maxArgs || (sasl && len(c.args) == 0) {
				t.Fatalf("%d arguments on %q", len(c.args), b)
			}
			for _, a := range c.args {
				if strings.ContainsAny(string(a), "\r\n") || (c.verb != "USER" && c.verb != "PASS" && strings.Contains(string(a), " ")) {
					t.Fatalf("argument %q on %q", a, b)
				}
			}
			if i := strings.IndexByte(string(b), '\n'); i+1 != c.n {
				t.Fatalf("n=%d but the first LF is at %d in %q", c.n, i, b)
			}
		case parseInvalid:
			if i := strings.IndexByte(string(b), '\n'); c.n <= 0 || i+1 != c.n {
				t.Fatalf("invalid line end %d on %q", c.n, b)
			}
		case parseAgain:
			if strings.IndexByte(string(b), '\n') >= 0 {
				t.Fatalf("parseAgain on a complete line %q", b)
			}
		}
	})
}
