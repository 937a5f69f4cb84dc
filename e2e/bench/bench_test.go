package bench

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"mailproxy/internal/mailtest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	mailtest.RemoveBuilds()
	os.Exit(code)
}

// buildBinaries builds mailproxy and mailload.
func buildBinaries(t *testing.T) (mailproxyBin, mailloadBin string) {
	t.Helper()
	var bins []string
	for _, pkg := range []string{"mailproxy/cmd/mailproxy", "mailproxy/e2e/cmd/mailload"} {
		bin, err := mailtest.Build(pkg)
		if err != nil {
			t.Fatal(err)
		}
		bins = append(bins, bin)
	}
	return bins[0], bins[1]
}

// logWriter sends progress lines to the test log.
type logWriter struct{ t *testing.T }

func (w logWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// TestQuickRun runs the whole harness in its quickest form (against nginx
// too when it is installed) and checks that it ran: every figure printed
// with mailproxy's values, no load error, and no process left. It never
// judges a speed.
func TestQuickRun(t *testing.T) {
	needRun(t)
	mp, ml := buildBinaries(t)
	o := Options{Mailproxy: mp, Mailload: ml, Quick: true, Duration: 100 * time.Millisecond, IdleSessions: 10, Progress: logWriter{t}}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out bytes.Buffer
	res, err := Run(ctx, o, &out)
	t.Logf("output:\n%s", out.String())
	if err != nil {
		t.Fatal(err)
	}
	withNginx := !strings.Contains(strings.Join(res.Header, "\n"), "nginx: not measured")
	_, err = exec.LookPath("strace")
	withStrace := err == nil
	want := figures(mustDefaults(t, o))
	if len(res.Figures) != len(want) || len(want) != 29 {
		t.Fatalf("%d figures measured, %d planned, want 29 (26, and the 3 attack figures)", len(res.Figures), len(want))
	}
	for i, f := range res.Figures {
		if f.ID != want[i].id || !strings.Contains(out.String(), f.Title+" ["+f.ID+"]") {
			t.Errorf("figure %d: %s not printed as planned (%s)", i, f.ID, want[i].id)
		}
		for _, e := range f.Errors {
			t.Errorf("%s: %s", f.ID, e)
		}
		syscallRows := 0
		for _, row := range f.Rows {
			only := ""
			for _, m := range want[i].metrics {
				if m.label == row.Label {
					only = m.only
				}
			}
			traced := strings.HasPrefix(row.Label, "  ") || strings.Contains(row.Label, "strace") || row.Label == "system calls per login"
			if traced {
				syscallRows++
			}
			switch {
			case traced && !withStrace:
				if len(row.Values[mailproxy])+len(row.Values[nginx]) > 0 {
					t.Errorf("%s: %q has values without strace", f.ID, row.Label)
				}
				continue
			case len(row.Values[mailproxy]) == 0:
				t.Errorf("%s: %q has no mailproxy value", f.ID, row.Label)
			}
			if only == mailproxy && len(row.Values[nginx]) > 0 {
				t.Errorf("%s: %q has an nginx value", f.ID, row.Label)
			}
			if withNginx && only == "" && slices.Contains(want[i].targets, nginx) && len(row.Values[nginx]) == 0 {
				t.Errorf("%s: %q has no nginx value", f.ID, row.Label)
			}
			for _, c := range row.Checks {
				if (c.Known || !c.RatioOnly) && !strings.Contains(out.String(), c.Target) {
					t.Errorf("%s: %q: target %s not printed", f.ID, row.Label, c.Target)
				}
			}
		}
		if strings.HasSuffix(f.ID, "-budget") && withStrace && syscallRows < 2+3 {
			t.Errorf("%s: %d system call rows, want the total and at least 3 kinds", f.ID, syscallRows)
		}
	}
	checkStopped(t, res)
}

// needRun skips a test that runs the harness with -short or without
// /proc.
func needRun(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("starts mailproxy (and nginx if installed) and runs load: skipped with -short")
	}
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("needs /proc")
	}
}

// checkStopped checks that Run recorded the processes it started and
// that none is left.
func checkStopped(t *testing.T, res *Result) {
	t.Helper()
	if len(res.PIDs) == 0 {
		t.Error("no process recorded")
	}
	for _, pid := range res.PIDs {
		if err := syscall.Kill(pid, 0); err == nil {
			t.Errorf("process %d (%s) still running after Run", pid, cmdline(pid))
		}
	}
}

func mustDefaults(t *testing.T, o Options) Options {
	t.Helper()
	o, err := o.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	return o
}
