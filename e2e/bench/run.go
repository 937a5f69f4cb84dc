package bench

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"
)

// target is one thing a figure is measured on: its listeners and, for a
// proxy, the root of its process tree.
type target struct {
	name    string
	addrs   map[string]string // service → address
	pid     int               // 0 for direct
	metrics string            // mailproxy: its metrics_listen address
}

// bench is one Run's state.
type bench struct {
	o          Options
	dir        string // work directory
	cs         *children
	targets    map[string]*target
	load       loader
	header     []string // what was run, for the table's heading
	auth       string   // the auth service's address
	authSvc    *authService
	cert, key  string // the proxies' certificate and key files
	instances  int    // proxy instances started so far
	strace     string // the strace binary ("": not found)
	straceRuns int    // strace runs so far, each with a file of its own

	nginxBin, nginxModule string // "" when nginx is not measured
}

// Run starts the backends, the auth service, nginx (unless o.NoNginx, or
// it is missing and not o.NeedNginx) and mailproxy, measures every figure
// of o, prints the table to out and returns the results. Whatever happens,
// including ctx ending (e.g. Ctrl-C), every process it started is stopped
// before it returns; the figures measured until then are still printed.
func Run(ctx context.Context, o Options, out io.Writer) (*Result, error) {
	o, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	raiseNofile()
	dir := o.WorkDir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "mailbench"); err != nil {
			return nil, err
		}
		if !o.Keep {
			defer os.RemoveAll(dir)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	cs := &children{}
	b := &bench{o: o, dir: dir, cs: cs, targets: map[string]*target{}, load: loader{bin: o.Mailload}}
	stop, err := b.start(ctx)
	defer func() {
		cs.stopAll() // the proxies first, then the backends they talk to
		stop()
	}()
	if err != nil {
		return nil, err
	}
	res := &Result{Header: b.header}
	figs := figures(o)
	runs := 0
	for _, f := range figs {
		runs += o.Rounds * len(f.targets)
	}
	b.progress("plan: %d figures, %d runs of %v each (idle: until %d sessions are held)", len(figs), runs, o.Duration, o.IdleSessions)
	n := 0
	for _, f := range figs {
		fr := FigureResult{ID: f.id, Title: f.title, figure: f, samples: map[string][]sample{}}
		for round := 1; round <= o.Rounds && ctx.Err() == nil; round++ {
			for _, name := range f.targets {
				t := b.targets[name]
				if t == nil || ctx.Err() != nil {
					continue
				}
				n++
				s, errText := b.measure(ctx, f, t)
				if ctx.Err() != nil {
					break
				}
				if errText != "" {
					fr.Errors = append(fr.Errors, fmt.Sprintf("%s round %d: %s", name, round, errText))
				}
				if s != nil {
					fr.samples[name] = append(fr.samples[name], *s)
					b.progress("[%d/%d] %s round %d %s: %s", n, runs, f.id, round, name, brief(f, *s))
				}
				if s != nil && s.rep.num("errors") > 0 {
					fr.Errors = append(fr.Errors, fmt.Sprintf("%s round %d: %s errors", name, round, s.rep["errors"]))
				}
			}
		}
		fr.summarize(b.targets)
		res.Figures = append(res.Figures, fr)
		if ctx.Err() != nil {
			break
		}
	}
	res.Interrupted = ctx.Err() != nil
	res.PIDs = cs.pids()
	res.Print(out)
	return res, nil
}

// progress writes one line to o.Progress.
func (b *bench) progress(format string, args ...any) {
	if b.o.Progress != nil {
		fmt.Fprintf(b.o.Progress, "mailbench: "+format+"\n", args...)
	}
}

// brief is a run's first metric, for the progress line.
func brief(f figure, s sample) string {
	m := f.metrics[0]
	v, ok := m.value(s)
	if !ok {
		return "-"
	}
	return fmt.Sprintf("%s %s, %s errors", formatValue(v, m.digits), m.label, s.rep["errors"])
}

// raiseNofile raises the soft descriptor limit to the hard limit; the
// children started afterwards inherit it.
func raiseNofile() {
	var lim syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim) == nil && lim.Cur < lim.Max {
		lim.Cur = lim.Max
		syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
	}
}

// firstLine is the first line of s, trimmed.
func firstLine(s string) string {
	l, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return l
}

// lastLines is the end of a log file, on one line.
func lastLines(file string) string {
	b, _ := os.ReadFile(file)
	s := strings.TrimSpace(string(b))
	if len(s) > 600 {
		s = "…" + s[len(s)-600:]
	}
	return strings.ReplaceAll(s, "\n", " | ")
}

// kernel is the running kernel's release.
func kernel() string {
	b, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	return strings.TrimSpace(string(b))
}
