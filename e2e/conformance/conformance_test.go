package conformance

import (
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"mailproxy/internal/mailtest"
)

// implementedProtocols lists the protocols mailproxy implements; cases of
// the others are skipped. Add "pop3" and "smtp" here as they land.
var implementedProtocols = map[string]bool{"imap": true, "pop3": true, "smtp": true}

// corpusDir is the corpus, relative to this package's directory (go test
// runs a package's tests in its own directory).
var corpusDir = filepath.Join("..", "..", "testdata", "conformance")

// TestConformance replays every case of testdata/conformance against the
// mailproxy binary: built once from mailproxy/cmd/mailproxy, or taken from
// $MAILPROXY_BIN. $CONFORMANCE_RUN keeps only the cases whose name contains
// it; $CONFORMANCE_PARALLEL sets how many cases run at once (default 8).
func TestConformance(t *testing.T) { runCorpus(t, "") }

// TestConformanceGoroutines replays the corpus with a goroutine per
// session (event_loops: off) instead of the default event loops: the
// engine must not change one byte of any dialogue.
func TestConformanceGoroutines(t *testing.T) { runCorpus(t, "event_loops: off\n") }

// runCorpus replays every runnable case with globals as the top-level
// configuration.
func runCorpus(t *testing.T, globals string) {
	cases, err := LoadDir(corpusDir)
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) == 0 {
		t.Fatalf("no cases in %s", corpusDir)
	}
	filter := os.Getenv("CONFORMANCE_RUN")
	var selected []*Case
	runnable := 0
	for _, c := range cases {
		if filter != "" && !strings.Contains(c.Name, filter) {
			continue
		}
		selected = append(selected, c)
		if skipReason(c) == "" {
			runnable++
		}
	}
	if len(selected) == 0 {
		t.Skipf("CONFORMANCE_RUN=%q selects no case", filter)
	}

	var env Env
	if runnable > 0 {
		env = setupEnv(t)
	}
	sem := make(chan struct{}, parallelism())
	for _, c := range selected {
		t.Run(c.Name, func(t *testing.T) {
			if r := skipReason(c); r != "" {
				t.Skip(r)
			}
			t.Parallel()
			sem <- struct{}{}
			defer func() { <-sem }()
			e := env
			e.WorkDir, e.Globals = t.TempDir(), globals
			res := Run(c, e)
			if !res.Passed() {
				t.Errorf("%s\n--- mailproxy config:\n%s--- mailproxy stderr:\n%s",
					strings.Join(res.Failures, "\n"), res.YAML, res.Stderr)
			}
		})
	}
}

// skipReason says why a case is not run, or "" when it runs.
func skipReason(c *Case) string {
	switch c.Flag {
	case Flag122Only:
		return "flag 1.22-only: nginx 1.22 behaviour; mailproxy follows HEAD"
	case FlagBug:
		return "flag bug: nginx quirk mailproxy does not copy"
	}
	if p := c.Protocol(); !implementedProtocols[p] {
		return p + " not implemented yet"
	}
	return ""
}

// setupEnv builds (or finds) the binary and makes the test certificate.
func setupEnv(t *testing.T) Env {
	t.Helper()
	dir := t.TempDir()
	bin := os.Getenv("MAILPROXY_BIN")
	if bin == "" {
		var err error
		if bin, err = mailtest.Build("mailproxy/cmd/mailproxy"); err != nil {
			t.Fatalf("building mailproxy: %v", err)
		}
	}
	cert, key, err := WriteTestCert(dir)
	if err != nil {
		t.Fatal(err)
	}
	return Env{Binary: bin, Cert: cert, Key: key}
}

// parallelism is $CONFORMANCE_PARALLEL, or 8 (at most 2 per CPU).
func parallelism() int {
	if n, err := strconv.Atoi(os.Getenv("CONFORMANCE_PARALLEL")); err == nil && n > 0 {
		return n
	}
	return min(8, 2*runtime.NumCPU())
}

// TestCorpusParses checks that the whole corpus parses and is consistent
// with README §1 and §7.
func TestCorpusParses(t *testing.T) {
	cases, err := LoadDir(corpusDir)
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) != 240 {
		t.Errorf("got %d cases, want 240", len(cases))
	}
	flags := map[string]int{}
	for _, c := range cases {
		flags[c.Flag]++
		if len(c.AuthExpect) > len(c.AuthReplies) {
			t.Errorf("%s: %d auth-expect for %d replies", c.Name, len(c.AuthExpect), len(c.AuthReplies))
		}
		if p := c.Protocol(); p != "imap" && p != "pop3" && p != "smtp" {
			t.Errorf("%s: protocol %q", c.Name, p)
		}
		if _, err := ServerYAML(c.Config); err != nil {
			t.Errorf("%s: %v", c.Name, err)
		}
	}
	want := map[string]int{FlagNone: 224, Flag122Only: 7, FlagBug: 4, FlagHeadOnly: 5}
	for f, n := range want {
		if flags[f] != n {
			t.Errorf("flag %s: %d cases, want %d", f, flags[f], n)
		}
	}
}
