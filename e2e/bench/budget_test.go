package bench

import (
	"maps"
	"os"
	"slices"
	"strings"
	"testing"

	"mailproxy/config"
)

// straceOutput is what strace 6.1 -c -f wrote for a traced shell loop,
// with a second table as strace writes one per personality.
const straceOutput = `% time     seconds  usecs/call     calls    errors syscall
------ ----------- ----------- --------- --------- ----------------
 56.24    0.021976         150       146        73 wait4
 21.43    0.008373         114        73           clone
  3.37    0.001316           0      2190       949 openat
  1.05    0.000412           5        72           clock_nanosleep
  0.01    0.000003           0        73           getpid
------ ----------- ----------- --------- --------- ----------------
100.00    0.039073           3      2554      1022 total
System call usage summary for 32 bit mode:
% time     seconds  usecs/call     calls    errors syscall
------ ----------- ----------- --------- --------- ----------------
100.00    0.000010          10         1           getpid
------ ----------- ----------- --------- --------- ----------------
100.00    0.000010          10         1           total
`

// TestParseStraceSummary reads strace -c's tables and refuses what is
// not one.
func TestParseStraceSummary(t *testing.T) {
	got, err := parseStraceSummary(straceOutput)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{"wait4": 146, "clone": 73, "openat": 2190, "clock_nanosleep": 72, "getpid": 74}
	if !maps.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	// An older strace leaves the total row's usecs/call empty.
	old := "% time     seconds  usecs/call     calls    errors syscall\n------\n 90.00    0.000009           9         1           read\n" +
		" 10.00    0.000001           1         1         1 close\n------\n100.00    0.000010                     2         1 total\n"
	if got, err := parseStraceSummary(old); err != nil || !maps.Equal(got, map[string]int64{"read": 1, "close": 1}) {
		t.Errorf("older strace: %v, %v", got, err)
	}
	// No call traced: a table without rows.
	if got, err := parseStraceSummary("% time     seconds  usecs/call     calls    errors syscall\n------\n------\n100.00 0.000000 0 0 0 total\n"); err != nil || len(got) != 0 {
		t.Errorf("empty table: %v, %v", got, err)
	}
	for _, bad := range []string{
		"",
		"strace: attach: ptrace(PTRACE_SEIZE, 1): Operation not permitted\n",
		"% time     seconds  usecs/call    errors syscall\n",
		"% time     seconds  usecs/call     calls    errors syscall\n 1.00 0.1 1 x 1 read\n",
		"% time     seconds  usecs/call     calls    errors syscall\n 1.00 0.1 1 -5 1 read\n",
		"% time     seconds  usecs/call     calls    errors syscall\n 1.00 0.1 1 9223372036854775807 read\n 1.00 0.1 1 1 read\n",
	} {
		if got, err := parseStraceSummary(bad); err == nil {
			t.Errorf("%q: %v, want an error", bad, got)
		}
	}
}

func FuzzParseStraceSummary(f *testing.F) {
	f.Add(straceOutput)
	f.Add("% time calls syscall\n1 2 x\n")
	f.Add("% time     seconds  usecs/call     calls    errors syscall\n 1.00 0.1 1 -5 1 read\n")
	f.Fuzz(func(t *testing.T, text string) {
		calls, err := parseStraceSummary(text)
		if err != nil {
			return
		}
		for name, n := range calls {
			if name == "" || name == "total" || n < 0 {
				t.Fatalf("%q: %d", name, n)
			}
		}
	})
}

// exposition is a piece of mailproxy's /metrics.
const exposition = `# HELP go_gc_cycles_total_gc_cycles_total Count of all completed GC cycles.
# TYPE go_gc_cycles_total_gc_cycles_total counter
go_gc_cycles_total_gc_cycles_total 12
# HELP go_gc_heap_allocs_bytes_total Cumulative sum of memory allocated to the heap by the application.
go_gc_heap_allocs_bytes_total 1.2345678e+07
go_gc_heap_allocs_objects_total 98765
go_gc_heap_allocs_objects_total_other{x="1"} 5
go_sched_goroutines_created_goroutines_total 431
mailproxy_sessions_total{outcome="client_closed",protocol="imap"} 3
`

// TestParseCounters reads the runtime counters from an exposition and
// refuses one that lacks a counter or has a non-number.
func TestParseCounters(t *testing.T) {
	got, err := parseCounters(exposition, runtimeCounters)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{gcCycles: 12, heapAllocBytes: 12345678, heapAllocObjects: 98765, goroutinesCreated: 431}
	if !maps.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if _, err := parseCounters(strings.Replace(exposition, "go_gc_cycles_total_gc_cycles_total 12", "", 1), runtimeCounters); err == nil ||
		!strings.Contains(err.Error(), gcCycles) {
		t.Errorf("missing counter: %v", err)
	}
	for _, v := range []string{"x", "NaN", "+Inf"} {
		if _, err := parseCounters(strings.Replace(exposition, "431", v, 1), runtimeCounters); err == nil {
			t.Errorf("%s accepted", v)
		}
	}
}

// TestParseCtxSwitches reads a thread's context switches from its
// status file, and this process's tree has some.
func TestParseCtxSwitches(t *testing.T) {
	status := "Name:\tmailproxy\nState:\tS (sleeping)\nvoluntary_ctxt_switches:\t1234\nnonvoluntary_ctxt_switches:\t56\n"
	if v, n := parseCtxSwitches([]byte(status)); v != 1234 || n != 56 {
		t.Errorf("got %d, %d", v, n)
	}
	if v, n := parseCtxSwitches([]byte("voluntary_ctxt_switches:\tx\n")); v != 0 || n != 0 {
		t.Errorf("malformed: %d, %d", v, n)
	}
	if _, err := os.Stat("/proc/self/task"); err != nil {
		t.Skip("no /proc")
	}
	if n, ok := treeCtxSwitches(os.Getpid()); !ok || n <= 0 {
		t.Errorf("this process: %d context switches, %v", n, ok)
	}
	if _, ok := treeCtxSwitches(1 << 30); ok {
		t.Error("a process that does not exist was read")
	}
}

// TestSyscallRows ranks the system calls by the larger median of the two
// sides, lists a kind only one side makes with the other's 0, keeps
// budgetKinds of them, and leaves a sample without a strace run out.
func TestSyscallRows(t *testing.T) {
	traced := func(calls map[string]float64) sample {
		s := sample{extra: map[string]float64{"syscalls": 0}}
		for k, v := range calls {
			s.extra[syscallKey(k)] = v
			s.extra["syscalls"] += v
		}
		return s
	}
	samples := map[string][]sample{
		nginx: {traced(map[string]float64{"recvfrom": 6, "sendto": 5, "epoll_wait": 4}), traced(map[string]float64{"recvfrom": 8, "sendto": 5})},
		mailproxy: {traced(map[string]float64{"read": 9, "write": 7, "futex": 3, "a1": 1, "a2": 1, "a3": 1, "a4": 1, "a5": 1, "a6": 1}),
			{extra: map[string]float64{}}}, // a round whose strace run failed
	}
	rows := syscallRows(samples)
	var labels []string
	for _, r := range rows {
		labels = append(labels, strings.TrimSpace(r.label))
	}
	want := []string{"read", "recvfrom", "write", "sendto", "futex", "epoll_wait", "a1", "a2", "a3", "a4"}
	if !slices.Equal(labels, want) {
		t.Fatalf("rows %v, want %v", labels, want)
	}
	fr := FigureResult{figure: figure{metrics: nil, more: syscallRows}, samples: samples}
	fr.summarize(nil)
	byLabel := map[string]RowResult{}
	for _, r := range fr.Rows {
		byLabel[strings.TrimSpace(r.Label)] = r
	}
	if r := byLabel["recvfrom"]; !slices.Equal(r.Values[nginx], []float64{6, 8}) || !slices.Equal(r.Values[mailproxy], []float64{0}) {
		t.Errorf("recvfrom: %v", r.Values)
	}
	if r := byLabel["epoll_wait"]; !slices.Equal(r.Values[nginx], []float64{4, 0}) {
		t.Errorf("epoll_wait: %v", r.Values)
	}
	if c := byLabel["read"].Checks[0]; c.Known || c.text(2) != "—" {
		t.Errorf("read, nginx 0: %+v %q", c, c.text(2))
	}
	if c := byLabel["sendto"].Checks[0]; !c.Known || c.text(2) != "0.00× nginx" {
		t.Errorf("sendto: %+v %q", c, c.text(2))
	}
	if len(syscallRows(map[string][]sample{nginx: {{extra: map[string]float64{}}}})) != 0 {
		t.Error("rows without any strace run")
	}
}

// TestRatioOnly checks a check without a target: the ratio alone, and —
// when a side was not measured.
func TestRatioOnly(t *testing.T) {
	c := ratioTo(nginx)[0]
	if c.String() != "× nginx" {
		t.Errorf("String %q", c.String())
	}
	r := c.eval(map[string][]float64{nginx: {200, 210, 190}, mailproxy: {170}}, 0)
	if !r.Known || !r.RatioOnly || r.Ratio != 0.85 || r.text(0) != "0.85× nginx" {
		t.Errorf("%+v %q", r, r.text(0))
	}
	if r := c.eval(map[string][]float64{mailproxy: {170}}, 0); r.Known || r.text(0) != "—" {
		t.Errorf("no nginx: %+v %q", r, r.text(0))
	}
}

// TestTargets checks the targets of the headline figures (issue 15's
// first step).
func TestTargets(t *testing.T) {
	want := map[string]string{
		"imap-logins/sessions/s":                        "≥ 1× nginx",
		"pop3-paced/p99 session latency (ms)":           "≤ 1× nginx",
		"smtp-paced/proxy CPU per 1,000 logins (ms)":    "≤ 1× nginx",
		"imap-idle/RSS per idle session (KiB)":          "≤ 0.6× nginx",
		"pop3-transfer/proxy CPU per GiB relayed (s)":   "≤ 0.3× nginx",
		"smtp-transfer/throughput (MB/s)":               "≥ 0.9× direct; ≥ 2× nginx-64k",
		"imap-logins-keepalive/sessions/s":              "× nginx",
		"imap-paced-keepalive/p99 session latency (ms)": "× nginx",
		"pop3-budget/user CPU per 1,000 logins (ms)":    "× nginx",
		"smtp-budget/heap KiB per session":              "",
	}
	got := map[string]string{}
	for _, f := range figures(mustDefaults(t, Options{Mailproxy: "x", Mailload: "y"})) {
		for _, m := range f.metrics {
			var cs []string
			for _, c := range m.checks {
				cs = append(cs, c.String())
			}
			got[f.id+"/"+m.label] = strings.Join(cs, "; ")
		}
	}
	for k, w := range want {
		if g, ok := got[k]; !ok || g != w {
			t.Errorf("%s: %q, want %q", k, g, w)
		}
	}
}

// TestMailproxyConfig checks that mailproxy's configuration asks the
// auth service without keep-alive, as nginx does, except on the "…ka"
// listeners, and serves its metrics.
func TestMailproxyConfig(t *testing.T) {
	cert, key, _, err := writeCert(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	addrs, err := freePorts()
	if err != nil {
		t.Fatal(err)
	}
	s := mailproxySetup{auth: "127.0.0.1:1", addrs: addrs, cert: cert, key: key, logLevel: "info", metrics: "127.0.0.1:9"}
	cfg, err := config.Parse("bench.yaml", []byte(s.config()))
	if err != nil {
		t.Fatalf("%v\n%s", err, s.config())
	}
	if cfg.MetricsListen != "127.0.0.1:9" {
		t.Errorf("metrics_listen %q", cfg.MetricsListen)
	}
	seen := 0
	for _, srv := range cfg.Servers {
		for svc, addr := range addrs {
			if srv.Listen[0].Address != addr {
				continue
			}
			seen++
			want := 0
			if svc == keepAliveService(serviceProtocol[svc]) {
				want = keepAliveConns
			}
			if srv.AuthHTTPKeepalive != want || srv.Protocol != serviceProtocol[svc] {
				t.Errorf("%s: %s, auth_http_keepalive %d, want %d", svc, srv.Protocol, srv.AuthHTTPKeepalive, want)
			}
		}
	}
	if seen != len(services) {
		t.Errorf("%d of %d services configured", seen, len(services))
	}
}
