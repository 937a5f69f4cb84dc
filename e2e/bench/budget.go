package bench

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The per-login budget figures (imap-budget, pop3-budget, smtp-budget):
// under the paced load of the *-paced figures, where a login's cost goes,
// nginx and mailproxy side by side. Each round and target makes two runs:
//
//   - a plain one: the user and system CPU time of the proxy's process
//     tree, the context switches of all its threads and, for mailproxy,
//     the Go runtime's counters from its own /metrics (goroutines
//     started, heap allocations, GC cycles), each read before and after
//     (the runtime counts a heap allocation when its span goes back to
//     the heap, at the latest at the next GC: a reading lags by up to a
//     span per size class and P, small against a default run);
//   - one with strace -c -f attached to every process of the tree
//     (strace.go): system calls per login, in all and by kind.
//
// Every value is a difference over a run divided by the logins mailload
// made in it; what could not be read is left out, and prints as —.

// budgetKinds is how many system call kinds a budget figure lists.
const budgetKinds = 10

// The runtime/metrics mailproxy exports for the budget
// (internal/metrics), as they come out in Prometheus' text format.
const (
	goroutinesCreated = "go_sched_goroutines_created_goroutines_total"
	heapAllocObjects  = "go_gc_heap_allocs_objects_total"
	heapAllocBytes    = "go_gc_heap_allocs_bytes_total"
	gcCycles          = "go_gc_cycles_total_gc_cycles_total"
)

var runtimeCounters = []string{goroutinesCreated, heapAllocObjects, heapAllocBytes, gcCycles}

// budgetFigure is p's budget figure; paced is the *-paced figure's
// mailload flags.
func budgetFigure(o Options, p string, paced []string) figure {
	vs := ratioTo(nginx)
	mp := func(label string, digits int, key string) metric {
		return metric{label: label, digits: digits, value: extra(key), only: mailproxy}
	}
	return figure{
		id: p + "-budget", service: p, targets: []string{nginx, mailproxy}, args: paced, custom: (*bench).measureBudget,
		title: fmt.Sprintf("%s per-login budget, paced at %g/s as %s-paced: CPU, context switches, system calls (a run of their own under strace), Go runtime",
			protoNames[p], o.Rate, p),
		metrics: []metric{
			{label: "logins (plain run)", value: extra("logins")},
			{label: "user CPU per 1,000 logins (ms)", value: extra("user_ms"), checks: vs},
			{label: "system CPU per 1,000 logins (ms)", value: extra("system_ms"), checks: vs},
			{label: "context switches per login", digits: 2, value: extra("ctxsw"), checks: vs},
			mp("goroutines started per session", 2, "goroutines"),
			mp("heap objects per session", 0, "heap_objects"),
			mp("heap KiB per session", 1, "heap_kib"),
			mp("GC cycles per 1,000 logins", 2, "gc_cycles"),
			{label: "logins (strace run)", value: extra("strace_logins")},
			{label: "system calls per login", digits: 1, value: extra("syscalls"), checks: vs},
		},
		more: syscallRows,
	}
}

// syscallKey is the extra key of one system call's calls per login.
func syscallKey(name string) string { return "syscall:" + name }

// syscallValue reads one system call's calls per login: 0 from a sample
// whose strace run worked but did not see it, nothing from one without
// a strace run.
func syscallValue(name string) func(sample) (float64, bool) {
	return func(s sample) (float64, bool) {
		if _, ok := s.extra["syscalls"]; !ok {
			return 0, false
		}
		return s.extra[syscallKey(name)], true
	}
}

// syscallRows are the budgetKinds system calls made most per login, by
// the larger of the targets' medians (a kind only one side makes is
// listed too, the other side's 0 with it), largest first.
func syscallRows(samples map[string][]sample) []metric {
	names := map[string]bool{}
	for _, ss := range samples {
		for _, s := range ss {
			for k := range s.extra {
				if name, ok := strings.CutPrefix(k, syscallKey("")); ok {
					names[name] = true
				}
			}
		}
	}
	type kind struct {
		name string
		most float64
	}
	var kinds []kind
	for name := range names {
		k := kind{name: name}
		for _, ss := range samples {
			var vs []float64
			for _, s := range ss {
				if v, ok := syscallValue(name)(s); ok {
					vs = append(vs, v)
				}
			}
			if m, ok := median(vs); ok {
				k.most = max(k.most, m)
			}
		}
		kinds = append(kinds, k)
	}
	slices.SortFunc(kinds, func(a, b kind) int {
		if a.most != b.most {
			if a.most > b.most {
				return -1
			}
			return 1
		}
		return strings.Compare(a.name, b.name)
	})
	var rows []metric
	for _, k := range kinds[:min(len(kinds), budgetKinds)] {
		rows = append(rows, metric{label: "  " + k.name, digits: 2, value: syscallValue(k.name), checks: ratioTo(nginx)})
	}
	return rows
}

// measureBudget makes t's two runs of f (see above).
func (b *bench) measureBudget(ctx context.Context, f figure, t *target) (*sample, string) {
	addr := t.addrs[f.service]
	if addr == "" || t.pid == 0 {
		return nil, "no proxy listener for " + f.service
	}
	args := append([]string{"-addr=" + addr, "-user=bench", "-pass=bench", "-timeout=20s"}, f.args...)
	limit := b.o.Duration + 60*time.Second
	s := &sample{proxy: true, extra: map[string]float64{}}
	var notes []string

	// The plain run.
	var rt0 map[string]float64
	if t.metrics != "" {
		var err error
		if rt0, err = scrapeCounters(t.metrics); err != nil {
			notes = append(notes, "Go runtime: "+err.Error())
		}
	}
	u0, s0 := treeTimes(t.pid)
	cs0, csOK := treeCtxSwitches(t.pid)
	rep, stderr, err := b.load.run(ctx, args, limit)
	u1, s1 := treeTimes(t.pid)
	cs1, csOK1 := treeCtxSwitches(t.pid)
	if err != nil {
		return nil, err.Error()
	}
	s.rep = rep
	if stderr != "" {
		notes = append(notes, firstLine(stderr))
	}
	n := rep.num("logins")
	s.extra["logins"] = n
	if n > 0 {
		s.extra["user_ms"] = (u1 - u0).Seconds() * 1000 / n * 1000
		s.extra["system_ms"] = (s1 - s0).Seconds() * 1000 / n * 1000
		if csOK && csOK1 {
			s.extra["ctxsw"] = float64(cs1-cs0) / n
		}
		if rt0 != nil {
			if rt1, err := scrapeCounters(t.metrics); err != nil {
				notes = append(notes, "Go runtime: "+err.Error())
			} else {
				s.extra["goroutines"] = (rt1[goroutinesCreated] - rt0[goroutinesCreated]) / n
				s.extra["heap_objects"] = (rt1[heapAllocObjects] - rt0[heapAllocObjects]) / n
				s.extra["heap_kib"] = (rt1[heapAllocBytes] - rt0[heapAllocBytes]) / 1024 / n
				s.extra["gc_cycles"] = (rt1[gcCycles] - rt0[gcCycles]) * 1000 / n
			}
		}
	}

	// The strace run.
	if b.strace == "" || ctx.Err() != nil {
		return s, strings.Join(notes, "; ")
	}
	b.straceRuns++
	out := filepath.Join(b.dir, fmt.Sprintf("strace-%s-%s-%d.txt", f.id, t.name, b.straceRuns))
	tr, err := b.startStrace(treePIDs(t.pid), out)
	if err != nil {
		return s, strings.Join(append(notes, err.Error()), "; ")
	}
	rep2, stderr2, err := b.load.run(ctx, args, limit)
	calls, serr := tr.stop()
	switch {
	case err != nil:
		notes = append(notes, "strace run: "+err.Error())
	case serr != nil:
		notes = append(notes, serr.Error())
	default:
		n2 := rep2.num("logins")
		s.extra["strace_logins"] = n2
		if e := rep2.num("errors"); e > 0 {
			notes = append(notes, fmt.Sprintf("strace run: %s errors: %s", rep2["errors"], firstLine(stderr2)))
		}
		if n2 > 0 {
			var total int64
			for name, c := range calls {
				total += c
				s.extra[syscallKey(name)] = float64(c) / n2
			}
			s.extra["syscalls"] = float64(total) / n2
		}
	}
	return s, strings.Join(notes, "; ")
}

// scrapeClient asks /metrics on a connection of its own each time: a
// reading after a run counts one scrape's cost (its connection's
// goroutines, the exposition's allocations: a few goroutines and some
// 100–200 KiB), small against the logins of a default run.
var scrapeClient = &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}

// scrapeCounters reads the runtime counters from the metrics listener at
// addr.
func scrapeCounters(addr string) (map[string]float64, error) {
	resp, err := scrapeClient.Get("http://" + addr + "/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("/metrics: %s", resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return nil, err
	}
	return parseCounters(string(body), runtimeCounters)
}

// parseCounters reads the samples named in names, each without labels,
// from Prometheus' text format; one missing or malformed is an error.
func parseCounters(text string, names []string) (map[string]float64, error) {
	out := map[string]float64{}
	for _, line := range strings.Split(text, "\n") {
		if line == "" || line[0] == '#' {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 2 || !slices.Contains(names, f[0]) {
			continue
		}
		v, err := strconv.ParseFloat(f[1], 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("%s: %q is not a number", f[0], f[1])
		}
		out[f[0]] = v
	}
	for _, n := range names {
		if _, ok := out[n]; !ok {
			return nil, fmt.Errorf("no %s in /metrics", n)
		}
	}
	return out, nil
}
