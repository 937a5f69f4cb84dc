package authhttp

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// corpusDir holds the project's conformance cases (testdata/conformance/README.md).
const corpusDir = "../testdata/conformance"

// caseStmt is one statement of a .case file: its keyword, its bare-word
// arguments and its string arguments (continuations appended).
type caseStmt struct {
	keyword string
	words   []string
	strs    []string
}

func parseCaseFile(t *testing.T, path string) []caseStmt {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []caseStmt
	for n, line := range strings.Split(string(data), "\n") {
		line = strings.TrimLeft(line, " \t")
		if line == "" || line[0] == '#' {
			continue
		}
		toks, strs, err := tokenizeCaseLine(line)
		if err != nil {
			t.Fatalf("%s:%d: %v", path, n+1, err)
		}
		if line[0] == '"' { // continuation of the last string argument
			if len(out) == 0 || len(out[len(out)-1].strs) == 0 || len(strs) != 1 {
				t.Fatalf("%s:%d: stray continuation", path, n+1)
			}
			last := &out[len(out)-1]
			last.strs[len(last.strs)-1] += strs[0]
			continue
		}
		out = append(out, caseStmt{keyword: toks[0], words: toks[1:], strs: strs})
	}
	return out
}

// tokenizeCaseLine splits a line into bare words and unquoted strings.
func tokenizeCaseLine(line string) (words, strs []string, err error) {
	for i := 0; i < len(line); {
		switch c := line[i]; {
		case c == ' ' || c == '\t':
			i++
		case c == '"':
			j := i + 1
			for ; j < len(line) && line[j] != '"'; j++ {
				if line[j] == '\\' {
					j++
				}
			}
			if j >= len(line) {
				return nil, nil, fmt.Errorf("unterminated string")
			}
			s, err := strconv.Unquote(line[i : j+1])
			if err != nil {
				return nil, nil, err
			}
			strs = append(strs, s)
			i = j + 1
		default:
			j := i
			for j < len(line) && line[j] != ' ' && line[j] != '\t' {
				j++
			}
			words = append(words, line[i:j])
			i = j
		}
	}
	return words, strs, nil
}

// corpusPorts are the placeholder values the expectations above assume.
var corpusPorts = strings.NewReplacer("${BACKEND_PORT}", "14001", "${CLOSED_PORT}", "14999")

// requestFromExpect rebuilds the Request behind an expected auth request.
func requestFromExpect(t *testing.T, expect string) *Request {
	t.Helper()
	r := &Request{}
	lines := strings.Split(strings.TrimSuffix(expect, "\r\n\r\n"), "\r\n")
	for _, l := range lines[1:] {
		name, value, _ := strings.Cut(l, ": ")
		switch name {
		case "Auth-Method":
			r.Method = value
		case "Auth-User":
			r.User = value
		case "Auth-Pass":
			r.Pass = value
		case "Auth-Protocol":
			r.Protocol = value
		case "Auth-Login-Attempt":
			r.LoginAttempt, _ = strconv.Atoi(value)
		case "Client-IP":
			r.ClientIP = value
		case "Host":
		default:
			t.Fatalf("unexpected request line %q", l)
		}
	}
	return r
}

// TestConformanceAuthResponses replays every auth-response-*.case answer
// through ParseResponse and through Client.Do on loopback, and checks the
// expected request bytes of each case against AppendRequest.
func TestConformanceAuthResponses(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(corpusDir, "auth-response-*.case"))
	if len(files) == 0 {
		t.Skip("conformance corpus not found at " + corpusDir)
	}
	want := map[string]respCase{}
	for _, tc := range responseCases() {
		want[tc.name] = tc
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".case")
		t.Run(name, func(t *testing.T) {
			tc, ok := want[name]
			if !ok {
				t.Fatalf("no responseCases entry named %q", name)
			}
			var expect string
			var chunks []string
			var gap time.Duration
			for _, st := range parseCaseFile(t, file) {
				switch st.keyword {
				case "auth-expect":
					expect = st.strs[0]
				case "auth-reply":
					for _, s := range st.strs {
						chunks = append(chunks, corpusPorts.Replace(s))
					}
					for _, w := range st.words {
						if v, ok := strings.CutPrefix(w, "gap="); ok {
							f, _ := strconv.ParseFloat(v, 64)
							gap = min(time.Duration(f*float64(time.Second)), 20*time.Millisecond)
						}
					}
				}
			}
			if expect == "" || len(chunks) == 0 {
				t.Fatal("case without auth-expect or auth-reply")
			}
			req := requestFromExpect(t, expect)
			if got := AppendRequest(nil, "127.0.0.1", "/auth", req, nil); string(got) != expect {
				t.Errorf("request %s\nwant %s", quoteLines(got), quoteLines([]byte(expect)))
			}
			head := strings.Join(chunks, "")
			if tc.head != head {
				t.Errorf("responseCases head differs from the case file:\n got %q\nwant %q", tc.head, head)
			}

			got, err := ParseResponse([]byte(head), req)
			checkResult(t, tc, got, err)

			s := newAuthServer(t, "tcp", "127.0.0.1:0", send(gap, chunks...))
			got, err = s.client(t, 2*time.Second).Do(context.Background(), req)
			checkResult(t, tc, got, err)
		})
	}
}
