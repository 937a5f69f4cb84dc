package imap

import (
	"strings"
	"testing"
)

func TestParseCommand(t *testing.T) {
	type want struct {
		st     parseStatus
		tag    string
		hasTag bool
		verb   string
		args   []string
		n      int
	}
	cases := []struct {
		in   string
		cont int
		want want
	}{
		{"a1 NOOP\r\n", 0, want{parseOK, "a1", true, "NOOP", nil, 9}},
		{"a1 noop\n", 0, want{parseOK, "a1", true, "NOOP", nil, 8}},
		{" NOOP\r\n", 0, want{parseOK, "", true, "NOOP", nil, 7}},
		{"a1   LOGIN  alice   pw\r\nrest", 0, want{parseOK, "a1", true, "LOGIN", []string{"alice", "pw"}, 24}},
		{`a LOGIN "us er"pa"ss` + "\r\n", 0, want{parseOK, "a", true, "LOGIN", []string{"us er", `pa"ss`}, 22}},
		{`a LOGIN "s3c\"ret" "a\\b"` + "\r\n", 0, want{parseOK, "a", true, "LOGIN", []string{`s3c"ret`, `a\b`}, 27}},
		{`a LOGIN "unterminated` + "\r\n", 0, want{parseOK, "a", true, "LOGIN", []string{"unterminated"}, 23}},
		{"a LOGIN {5}\r\nalice {2}\r\npw\r\n", 0, want{parseCont, "a", true, "LOGIN", nil, 0}},
		{"a LOGIN {5}\r\nalice {2}\r\npw\r\n", 13, want{parseCont, "a", true, "LOGIN", []string{"alice"}, 0}},
		{"a LOGIN {5}\r\nalice {2}\r\npw\r\n", 24, want{parseOK, "a", true, "LOGIN", []string{"alice", "pw"}, 28}},
		{"a LOGIN {5+}\r\nalice {2+}\r\npw\r\n", 0, want{parseOK, "a", true, "LOGIN", []string{"alice", "pw"}, 30}},
		{"a LOGIN {0+}\r\nX pass\r\n", 0, want{parseOK, "a", true, "LOGIN", []string{"X", "pass"}, 22}},
		{"a LOGIN {3+}\r\nabcX\r\n", 0, want{parseInvalid, "a", true, "LOGIN", nil, 0}},
		{"a LOGIN {3+}\r\nab", 0, want{parseAgain, "a", true, "LOGIN", nil, 0}},
		{"a LOGIN {x}\r\n", 0, want{parseInvalid, "a", true, "LOGIN", nil, 0}},
		{"a LOGIN {99999999999}\r\n", 0, want{parseInvalid, "a", true, "LOGIN", nil, 0}},
		{"a LOGIN a b c d\r\n", 0, want{parseInvalid, "a", true, "LOGIN", []string{"a", "b", "c"}, 0}},
		{"a LOGIN a b c\r\n", 0, want{parseOK, "a", true, "LOGIN", []string{"a", "b", "c"}, 15}},
		{"a FOO\r\n", 0, want{parseInvalid, "a", true, "", nil, 0}},
		{"a ID (\"name\" \"x\")\r\n", 0, want{parseInvalid, "a", true, "", nil, 0}},
		{"!bad NOOP\r\n", 0, want{parseInvalid, "", false, "", nil, 0}},
		{"\r\n", 0, want{parseInvalid, "", false, "", nil, 0}},
		{"A1\r\n", 0, want{parseInvalid, "", false, "", nil, 0}},
		{"a\tNOOP\r\n", 0, want{parseInvalid, "", false, "", nil, 0}},
		{"a NOOP\rx\r\n", 0, want{parseInvalid, "a", true, "NOOP", nil, 0}},
		{strings.Repeat("x", 32) + " NOOP\r\n", 0, want{parseOK, strings.Repeat("x", 32), true, "NOOP", nil, 39}},
		{strings.Repeat("y", 33) + " NOOP\r\n", 0, want{parseInvalid, "", false, "", nil, 0}},
		{"a NO", 0, want{parseAgain, "a", true, "", nil, 0}},
		{"a NOOP\r", 0, want{parseAgain, "a", true, "NOOP", nil, 0}},
		{"a LOGIN \"x\\", 0, want{parseAgain, "a", true, "LOGIN", nil, 0}},
		{"a LOGIN \"x\\\r\n", 0, want{parseInvalid, "a", true, "LOGIN", nil, 0}},
	}
	for _, c := range cases {
		got, st := parseCommand([]byte(c.in), c.cont)
		var args []string
		for _, a := range got.args {
			args = append(args, string(a))
		}
		w := c.want
		if st != w.st || string(got.tag) != w.tag || got.hasTag != w.hasTag || got.verb != w.verb ||
			strings.Join(args, "|") != strings.Join(w.args, "|") || (st == parseOK && got.n != w.n) {
			t.Errorf("parseCommand(%q, %d) = st %d tag %q/%v verb %q args %q n %d; want %+v",
				c.in, c.cont, st, got.tag, got.hasTag, got.verb, args, got.n, w)
		}
	}
}

func TestParseInvalidLineEnd(t *testing.T) {
	c, st := parseCommand([]byte("a FOO bar\r\nb NOOP\r\n"), 0)
	if st != parseInvalid || c.lineEnd != 11 {
		t.Fatalf("st %d lineEnd %d", st, c.lineEnd)
	}
	c, st = parseCommand([]byte("a FOO bar"), 0)
	if st != parseInvalid || c.lineEnd != -1 {
		t.Fatalf("st %d lineEnd %d", st, c.lineEnd)
	}
}

func FuzzParseCommand(f *testing.F) {
	for _, s := range []string{
		"a1 NOOP\r\n", "a LOGIN {5}\r\nalice {2}\r\npw\r\n", "a LOGIN {5+}\r\nalice \"p w\"\r\n",
		"a AUTHENTICATE PLAIN AHUAcA==\r\n", "!bad\r\n", "a LOGIN {0}\r\nX pass\r\n", "a FOO {5+}\r\n",
		"a ID (\"name\" \"x\" \"os\" NIL)\r\n", "a ID ({4}\r\nname {0}\r\n)\r\n", "a ID NIL\r\n",
	} {
		f.Add([]byte(s), 0)
	}
	f.Fuzz(func(t *testing.T, b []byte, cont int) {
		withID := cont%2 != 0 // the same bytes with ID known and unknown
		c, st := parseCommandWith(b, cont, withID)
		if c.verb == "ID" && !withID {
			t.Fatalf("ID parsed when unknown: %q", b)
		}
		if st == parseOK && c.verb == "ID" {
			if len(c.id) > maxIDFields {
				t.Fatalf("%d ID fields", len(c.id))
			}
			for _, f := range c.id {
				if f.Name == "" || len(f.Name) > maxIDName || len(f.Value) > maxIDValue || f.Nil && f.Value != "" {
					t.Fatalf("bad ID field %+v from %q", f, b)
				}
			}
		}
		switch st {
		case parseOK:
			if c.n <= 0 || c.n > len(b) || b[c.n-1] != '\n' || c.verb == "" {
				t.Fatalf("parseOK with n=%d verb=%q on %q", c.n, c.verb, b)
			}
			if len(c.args) > maxArgs {
				t.Fatalf("%d arguments", len(c.args))
			}
		case parseInvalid:
			if c.lineEnd > len(b) || (c.lineEnd > 0 && b[c.lineEnd-1] != '\n') {
				t.Fatalf("lineEnd %d on %q", c.lineEnd, b)
			}
		case parseCont:
			if c.contAt <= cont || c.contAt > len(b) {
				t.Fatalf("contAt %d (cont %d) on %q", c.contAt, cont, b)
			}
		}
	})
}
