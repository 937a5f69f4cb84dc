package bench

import (
	"bufio"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// The budget figures count a proxy's system calls with strace -c -f
// attached to every process of its tree for one run of their own (the
// tracing slows the traced processes, so no other figure comes from that
// run). strace is stopped with SIGINT, by its PID, which makes it detach
// and write its summary table.

// straceAttachTimeout bounds how long strace may take to attach.
const straceAttachTimeout = 10 * time.Second

// findStrace resolves strace for the budget figures and notes it in the
// table's heading; without it their system-call rows read —.
func (b *bench) findStrace() {
	path, err := exec.LookPath("strace")
	if err != nil {
		b.header = append(b.header, "strace: not found, the budget figures' system calls read — (`make bench` installs it)")
		return
	}
	b.strace = path
	v, _ := exec.Command(path, "-V").Output()
	first, _, _ := strings.Cut(string(v), "\n")
	b.header = append(b.header, fmt.Sprintf("strace: %s, -c -f on every process of the proxy's tree, in runs of their own", strings.TrimSpace(first)))
}

// tracer is a running strace -c.
type tracer struct {
	c   *child
	out string // the summary's file

	mu     sync.Mutex
	stderr strings.Builder // what strace said: attachments, errors
}

// startStrace attaches strace -c -f to pids, its summary going to out,
// and returns once it has attached to every one of them.
func (b *bench) startStrace(pids []int, out string) (*tracer, error) {
	args := []string{"-c", "-f", "-o", out}
	for _, pid := range pids {
		args = append(args, "-p", strconv.Itoa(pid))
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(b.strace, args...)
	cmd.Stderr = pw
	c, err := startChild("strace", cmd, syscall.SIGKILL)
	pw.Close()
	if err != nil {
		pr.Close()
		return nil, err
	}
	b.cs.add(c)
	tr := &tracer{c: c, out: out}
	attached := make(chan struct{})
	go func() {
		defer pr.Close()
		n := 0
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			line := sc.Text()
			tr.mu.Lock()
			tr.stderr.WriteString(line + "\n")
			tr.mu.Unlock()
			// "/usr/bin/strace: Process 123 attached" (" with 4
			// threads"): one line per -p first, then one per thread or
			// child followed.
			if strings.Contains(line, ": Process ") && strings.Contains(line, " attached") {
				if n++; n == len(pids) {
					close(attached)
				}
			}
		}
	}()
	select {
	case <-attached:
		return tr, nil
	case <-c.exited:
	case <-time.After(straceAttachTimeout):
	}
	c.stopWith(syscall.SIGINT)
	return nil, fmt.Errorf("strace did not attach to %v: %s", pids, tr.said())
}

// said is what strace wrote on stderr so far, on one line.
func (tr *tracer) said() string {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return strings.ReplaceAll(strings.TrimSpace(tr.stderr.String()), "\n", " | ")
}

// stop interrupts strace (SIGINT, by PID), waits for it and returns its
// summary: calls per system call name.
func (tr *tracer) stop() (map[string]int64, error) {
	tr.c.stopWith(syscall.SIGINT)
	b, err := os.ReadFile(tr.out)
	if err != nil {
		return nil, err
	}
	calls, err := parseStraceSummary(string(b))
	if err != nil {
		return nil, fmt.Errorf("%s: %v (strace: %s)", filepath.Base(tr.out), err, tr.said())
	}
	return calls, nil
}

// parseStraceSummary reads the table strace -c writes,
//
//	% time     seconds  usecs/call     calls    errors syscall
//	------ ----------- ----------- --------- --------- ----------------
//	 45.10    0.001234          12       100        10 read
//	…
//	------ ----------- ----------- --------- --------- ----------------
//	100.00    0.002736           8       300        10 total
//
// into calls per system call name (summed over the tables when strace
// writes one per personality; the total row left out). Its column is
// found by the header's "calls"; a table without one is an error.
func parseStraceSummary(text string) (map[string]int64, error) {
	calls := map[string]int64{}
	col := -1 // the calls column of the current table, counting "% time" as one
	for _, line := range strings.Split(text, "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) >= 3 && f[0] == "%" && f[1] == "time":
			col = -1
			for i, h := range f[2:] {
				if h == "calls" {
					col = i + 1
				}
			}
			if col < 0 || f[len(f)-1] != "syscall" {
				return nil, fmt.Errorf("strace summary: header %q has no calls or syscall column", line)
			}
			continue
		case len(f) == 0 || strings.HasPrefix(f[0], "---") || col < 0:
			continue
		}
		if _, err := strconv.ParseFloat(f[0], 64); err != nil || len(f) <= col+1 {
			continue // not a row: a note such as "System call usage summary for 32 bit mode:"
		}
		name := f[len(f)-1]
		if name == "total" {
			continue
		}
		n, err := strconv.ParseInt(f[col], 10, 64)
		if err != nil || n < 0 || calls[name] > math.MaxInt64-n {
			return nil, fmt.Errorf("strace summary: row %q: calls %q", line, f[col])
		}
		calls[name] += n
	}
	if col < 0 {
		return nil, fmt.Errorf("strace summary: no table")
	}
	return calls, nil
}
