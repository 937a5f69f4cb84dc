package bench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// report is mailload's "report" (or "ready") line as key → value.
type report map[string]string

// parseLine parses "word k=v k=v …".
func parseLine(line string) report {
	r := report{}
	for _, f := range strings.Fields(line)[1:] {
		k, v, _ := strings.Cut(f, "=")
		r[k] = v
	}
	return r
}

// num returns a numeric field; durations ("1.2ms", "2.00s") are in
// seconds. A missing or malformed field is 0.
func (r report) num(k string) float64 {
	v := r[k]
	if d, err := time.ParseDuration(v); err == nil && strings.ContainsAny(v, "smhµnu") {
		return d.Seconds()
	}
	f, _ := strconv.ParseFloat(v, 64)
	return f
}

// loader runs the mailload binary.
type loader struct {
	bin string
}

// command makes a mailload child process for args, ended with SIGTERM
// when ctx ends.
func (l loader) command(ctx context.Context, args []string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, l.bin, args...)
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = stopGrace
	return cmd
}

// run runs mailload with args to its end (at most limit) and returns its
// report and what it printed on stderr.
func (l loader) run(ctx context.Context, args []string, limit time.Duration) (report, string, error) {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := l.command(ctx, args)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.SysProcAttr = childAttr(syscall.SIGKILL)
	err := cmd.Run()
	for _, line := range strings.Split(stdout.String(), "\n") {
		if strings.HasPrefix(line, "report ") {
			return parseLine(line), stderr.String(), nil
		}
	}
	if err == nil {
		err = fmt.Errorf("no report line")
	}
	return nil, stderr.String(), fmt.Errorf("mailload %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
}

// hold runs mailload in idle mode: once it prints "ready" (within limit)
// it calls measure with that line (not called if it is late), then stops mailload with SIGTERM and
// returns its report.
func (l loader) hold(ctx context.Context, args []string, limit time.Duration, measure func(ready report)) (report, string, error) {
	ctx, cancel := context.WithTimeout(ctx, limit+30*time.Second)
	defer cancel()
	var stderr bytes.Buffer
	cmd := l.command(ctx, args)
	cmd.Stderr = &stderr
	cmd.SysProcAttr = childAttr(syscall.SIGKILL)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, "", err
	}
	if err := cmd.Start(); err != nil {
		return nil, "", err
	}
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	timer := time.NewTimer(limit)
	defer timer.Stop()
	var rep report
	late := false
	for rep == nil {
		select {
		case line, ok := <-lines:
			if !ok {
				cmd.Wait()
				return nil, stderr.String(), fmt.Errorf("mailload ended without a report: %s", strings.TrimSpace(stderr.String()))
			}
			switch {
			case strings.HasPrefix(line, "ready "):
				if !late {
					measure(parseLine(line))
				}
				cmd.Process.Signal(syscall.SIGTERM)
			case strings.HasPrefix(line, "report "):
				rep = parseLine(line)
			}
		case <-timer.C:
			late = true // not ready in time: end it, measure nothing
			cmd.Process.Signal(syscall.SIGTERM)
		}
	}
	for range lines {
	}
	cmd.Wait()
	return rep, stderr.String(), nil
}
