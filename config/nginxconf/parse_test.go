package nginxconf

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"mailproxy/config"
)

// render writes a parse tree compactly: name(arg|arg)@line, blocks in {}.
func render(ds []*Directive) string {
	var b strings.Builder
	for i, d := range ds {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%s@%d", d.Name, d.Pos.Line)
		if len(d.Args) > 0 {
			args := make([]string, len(d.Args))
			for j, a := range d.Args {
				args[j] = fmt.Sprintf("%q@%d", a.Text, a.Pos.Line)
			}
			b.WriteString("(" + strings.Join(args, "|") + ")")
		}
		if d.IsBlock {
			b.WriteString("{" + render(d.Block) + "}")
		}
	}
	return b.String()
}

func TestParse(t *testing.T) {
	long := strings.Repeat("A", confBuffer)
	for _, tc := range []struct {
		name, in, want, err string
	}{
		{"directive", "a b c;", `a@1("b"@1|"c"@1)`, ""},
		{"block", "mail {\n server {\n  listen 1;\n }\n}\n", `mail@1{server@2{listen@3("1"@3)}}`, ""},
		{"empty block", "a{}", `a@1{}`, ""},
		{"comments", "# x\na; # y ; {\nb;#z", `a@2 b@3`, ""},
		{"hash inside a word", "a b#c;", `a@1("b#c"@1)`, ""},
		{"quotes", `a "b c" 'd e' "" '';`, `a@1("b c"@1|"d e"@1|""@1|""@1)`, ""},
		{"escapes", `a "x\"y" 'p\'q' r\\s \t "\n" \$v \z;`, `a@1("x\"y"@1|"p'q"@1|"r\\s"@1|"\t"@1|"\n"@1|"\\$v"@1|"\\z"@1)`, ""},
		{"escaped terminator", `a b\;c;`, `a@1("b\\;c"@1)`, ""},
		{"quote inside a word", `a b"c;`, `a@1("b\"c"@1)`, ""},
		{"opening brace ends a word", `a b}c d{e;`, "", `x.conf:1: unexpected end of file, expecting "}"`},
		{"closing brace inside a word", "a b}c;", `a@1("b}c"@1)`, ""},
		{"variables", "a ${b}c $d;", `a@1("${b}c"@1|"$d"@1)`, ""},
		{"block after quote", `a "b"{}`, `a@1("b"@1){}`, ""},
		{"lines", "a\n\"b\nc\"\r\nd;\n\ne;", `a@1("b\nc"@2|"d"@4) e@6`, ""},
		{"no space before brace", "server{listen 1;}", `server@1{listen@1("1"@1)}`, ""},
		{"parenthesis after quote", `a "b")c;`, `a@1("b"@1|")c"@1)`, ""},
		{"long word", "a " + long[1:] + ";", `a@1("` + long[1:] + `"@1)`, ""},

		{"unexpected brace", "}", "", `x.conf:1: unexpected "}"`},
		{"brace with words pending", "a\n}", "", `x.conf:2: unexpected "}"`},
		{"unclosed block", "a {\n b;\n", "", `x.conf:3: unexpected end of file, expecting "}"`},
		{"unterminated", "a b", "", `x.conf:1: unexpected end of file, expecting ";" or "}"`},
		{"unterminated quote", "a \"b;\n", "", `x.conf:2: unexpected end of file, expecting ";" or "}"`},
		{"semicolon alone", "a; ;", "", `x.conf:1: unexpected ";"`},
		{"brace alone", "\n{", "", `x.conf:2: unexpected "{"`},
		{"after quote", `a "b"c;`, "", `x.conf:1: unexpected "c"`},
		{"too long word", "a\n" + long + ";", "", `x.conf:2: too long parameter "AAAAAAAAAA..." started`},
		{"too long quote", "a\n\"" + long + "\";", "", `x.conf:2: too long parameter, probably missing terminating """ character`},
		{"too long single quote", "a '" + long + "';", "", `x.conf:1: too long parameter, probably missing terminating "'" character`},
		{"too long comment", "#" + long + "\na;", "", `x.conf:1: too long parameter "#AAAAAAAAA..." started`},
		{"too deep", strings.Repeat("a{", maxDepth), "", "blocks nested more than 100 deep"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ds, err := Parse("x.conf", []byte(tc.in))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("got %v, %v; want error %q", render(ds), err, tc.err)
				}
				var ce *config.Error
				if !errors.As(err, &ce) || len(ce.Problems) != 1 {
					t.Fatalf("error %T %v: want one *config.Error problem", err, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := render(ds); got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

func TestParseParam(t *testing.T) {
	ds, err := ParseParam("pid /run/x.pid; error_log stderr   info;")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := render(ds), `pid@0("/run/x.pid"@0) error_log@0("stderr"@0|"info"@0)`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	for in, want := range map[string]string{
		"pid /run/x.pid":   `command line: unexpected end of parameter, expecting ";"`,
		"events { }":       "command line: block directives are not supported in -g option",
		"pid /x; }":        `command line: unexpected "}"`,
		`pid "/x;`:         `command line: unexpected end of parameter, expecting ";"`,
		"worker_processes": `command line: unexpected end of parameter, expecting ";"`,
	} {
		if _, err := ParseParam(in); err == nil || err.Error() != want {
			t.Errorf("ParseParam(%q) = %v, want %s", in, err, want)
		}
	}
}
