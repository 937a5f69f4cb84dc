package conformance

import (
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

// runReference runs a Python snippet with run_nginx.py importable, feeding
// it input as JSON on stdin and decoding its JSON output into out. It
// skips the test when python3 is not installed.
func runReference(t *testing.T, script string, input, out any) {
	t.Helper()
	if testing.Short() {
		t.Skip("slow: runs python3")
	}
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not found")
	}
	in, err := json.Marshal(input)
	if err != nil {
		t.Fatal(err)
	}
	dir, _ := filepath.Abs(corpusDir)
	cmd := exec.Command(py, "-c", "import json, sys\nsys.path.insert(0, sys.argv[1])\nimport run_nginx\n"+script, dir)
	cmd.Stdin = strings.NewReader(string(in))
	cmd.Env = append(os.Environ(), "PYTHONDONTWRITEBYTECODE=1")
	res, err := cmd.Output()
	if err != nil {
		t.Fatalf("python: %v", err)
	}
	if err := json.Unmarshal(res, out); err != nil {
		t.Fatal(err)
	}
}

// TestParseMatchesReference compares the parsed corpus with run_nginx.py's
// parse_case, statement by statement.
func TestParseMatchesReference(t *testing.T) {
	cases, err := LoadDir(corpusDir)
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, c := range cases {
		p, _ := filepath.Abs(c.Path)
		paths = append(paths, p)
	}
	script := `
def steps(l):
    return [[op, [str(float(w)) for w in words], [s.hex() for s in strs]] for op, words, strs in l]
out = {}
for p in json.load(sys.stdin):
    c = run_nginx.parse_case(p)
    out[c['name']] = {
        'flag': c['flag'], 'spec': c['spec'], 'config': c['config'], 'notes': c['notes'],
        'client': steps(c['client']), 'backend': steps(c['backend']),
        'auth_expect': [s.hex() for s in c['auth_expect']],
        'auth_reply': [('hold %s' % float(r['hold'])) if 'hold' in r else
                       'reply %s %s %s' % (float(r['delay']), float(r['gap']), ' '.join(x.hex() for x in r['chunks']))
                       for r in c['auth_reply']],
        'dns': {'%s/%d' % k: (v if isinstance(v, str) else list(v)) for k, v in c['dns'].items()},
    }
json.dump(out, sys.stdout)
`
	type ref struct {
		Flag       string         `json:"flag"`
		Spec       []string       `json:"spec"`
		Config     []string       `json:"config"`
		Notes      []string       `json:"notes"`
		Client     [][]any        `json:"client"`
		Backend    [][]any        `json:"backend"`
		AuthExpect []string       `json:"auth_expect"`
		AuthReply  []string       `json:"auth_reply"`
		DNS        map[string]any `json:"dns"`
	}
	var refs map[string]ref
	runReference(t, script, paths, &refs)
	steps := func(ss []Step) [][]any {
		out := [][]any{}
		for _, s := range ss {
			words, strs := []any{}, []any{}
			if s.HasArg {
				words = append(words, pyFloat(s.Seconds))
			}
			if s.Op == "send" || s.Op == "expect" {
				strs = append(strs, hex.EncodeToString(s.Data))
			}
			out = append(out, []any{s.Op, words, strs})
		}
		return out
	}
	norm := func(v any) any { // JSON round trip for comparable values
		b, _ := json.Marshal(v)
		var x any
		_ = json.Unmarshal(b, &x)
		return x
	}
	for _, c := range cases {
		r, ok := refs[c.Name]
		if !ok {
			t.Errorf("%s: not parsed by run_nginx.py", c.Name)
			continue
		}
		got := ref{Flag: c.Flag, Spec: c.Spec, Config: c.Config, Notes: c.Notes,
			Client: steps(c.Client), Backend: steps(c.Backend), DNS: map[string]any{},
			AuthExpect: []string{}, AuthReply: []string{}}
		if got.Spec == nil {
			got.Spec = []string{}
		}
		if got.Notes == nil {
			got.Notes = []string{}
		}
		for _, a := range c.AuthExpect {
			got.AuthExpect = append(got.AuthExpect, hex.EncodeToString(a))
		}
		for _, a := range c.AuthReplies {
			if a.Hold {
				got.AuthReply = append(got.AuthReply, "hold "+pyFloat(a.HoldOn))
				continue
			}
			var hs []string
			for _, ch := range a.Chunks {
				hs = append(hs, hex.EncodeToString(ch))
			}
			got.AuthReply = append(got.AuthReply, "reply "+pyFloat(a.Delay)+" "+pyFloat(a.Gap)+" "+strings.Join(hs, " "))
		}
		for k, v := range c.DNS {
			key := k.Name + "/" + strconv.Itoa(int(k.Type))
			switch v.Rcode {
			case 3:
				got.DNS[key] = "nxdomain"
			case 2:
				got.DNS[key] = "servfail"
			default:
				got.DNS[key] = v.Values
			}
		}
		if g, w := norm(got), norm(r); !reflect.DeepEqual(g, w) {
			t.Errorf("%s:\n got %v\nwant %v", c.Name, g, w)
		}
	}
}

// pyFloat formats a duration in seconds as Python's str(float) does for
// the values of the corpus ("0.0", "0.2", "4.0").
func pyFloat(d time.Duration) string {
	s := strconv.FormatFloat(d.Seconds(), 'f', -1, 64)
	if !strings.Contains(s, ".") {
		s += ".0"
	}
	return s
}

// TestServerYAMLMatchesReference compares ServerYAML with run_nginx.py's
// server_yaml (its --mailproxy translation) on every case of the corpus.
func TestServerYAMLMatchesReference(t *testing.T) {
	cases, err := LoadDir(corpusDir)
	if err != nil {
		t.Fatal(err)
	}
	vars := NewVars(map[string]string{
		"LISTEN": "127.0.0.1:14100", "LISTEN_PORT": "14100", "AUTH": "127.0.0.1:14101",
		"BACKEND_PORT": "14102", "CLOSED_PORT": "14103", "DNS": "127.0.0.1:14104",
		"CERT": "/tmp/x/cert.pem", "KEY": "/tmp/x/key.pem",
	})
	input := map[string][]string{}
	for _, c := range cases {
		for _, l := range c.Config {
			b, err := vars.Subst([]byte(l))
			if err != nil {
				t.Fatal(err)
			}
			input[c.Name] = append(input[c.Name], string(b))
		}
	}
	var ref map[string]string
	runReference(t, "json.dump({n: run_nginx.server_yaml(l) for n, l in json.load(sys.stdin).items()}, sys.stdout)", input, &ref)
	for _, c := range cases {
		got, err := ServerYAML(input[c.Name])
		if err != nil {
			t.Errorf("%s: %v", c.Name, err)
		} else if got != ref[c.Name] {
			t.Errorf("%s:\n got:\n%s\nwant:\n%s", c.Name, got, ref[c.Name])
		}
	}
}
