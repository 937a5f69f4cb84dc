package e2e

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"mailproxy/internal/mailtest"
)

// mailloadBinary builds ./e2e/cmd/mailload once per test run.
func mailloadBinary(t *testing.T) string {
	return build(t, "mailproxy/e2e/cmd/mailload")
}

// raiseNofile raises this process's soft descriptor limit to the hard
// limit (children started afterwards inherit it) and returns it.
func raiseNofile(t *testing.T) uint64 {
	t.Helper()
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	lim.Cur = lim.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	return uint64(lim.Cur) // int64 on FreeBSD
}

// vmRSS returns the resident set of pid in KiB.
func vmRSS(t *testing.T, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			v, _ := strconv.ParseInt(strings.Fields(line)[1], 10, 64)
			return v
		}
	}
	t.Fatal("no VmRSS")
	return 0
}

// loadRun is a running mailload.
type loadRun struct {
	cmd    *exec.Cmd
	lines  chan string // stdout, line by line; closed at EOF
	stderr *mailtest.SyncBuffer
	once   sync.Once
	err    error
}

func startLoad(t *testing.T, args ...string) *loadRun {
	t.Helper()
	l := &loadRun{cmd: exec.Command(mailloadBinary(t), args...), lines: make(chan string, 16), stderr: &mailtest.SyncBuffer{}}
	l.cmd.Stderr = l.stderr
	out, err := l.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := l.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(l.lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			l.lines <- sc.Text()
		}
	}()
	t.Cleanup(func() { // a run the test did not wait for is killed
		l.once.Do(func() {
			l.cmd.Process.Kill()
			for range l.lines {
			}
			l.err = l.cmd.Wait()
		})
	})
	return l
}

// next returns the next stdout line starting with prefix, within d.
func (l *loadRun) next(t *testing.T, prefix string, d time.Duration) map[string]string {
	t.Helper()
	timer := time.NewTimer(d)
	defer timer.Stop()
	for {
		select {
		case line, ok := <-l.lines:
			if !ok {
				t.Fatalf("mailload ended without a %q line; stderr:\n%s", prefix, l.stderr.String())
			}
			if strings.HasPrefix(line, prefix+" ") {
				t.Logf("mailload: %s", line)
				kv := map[string]string{}
				for _, f := range strings.Fields(line)[1:] {
					k, v, _ := strings.Cut(f, "=")
					kv[k] = v
				}
				return kv
			}
		case <-timer.C:
			t.Fatalf("no %q line from mailload within %v; stderr:\n%s", prefix, d, l.stderr.String())
		}
	}
}

// wait waits for mailload to exit and checks its status.
func (l *loadRun) wait(t *testing.T) {
	t.Helper()
	timer := time.AfterFunc(30*time.Second, func() { l.cmd.Process.Kill() })
	defer timer.Stop()
	l.once.Do(func() {
		for range l.lines {
		}
		l.err = l.cmd.Wait()
	})
	if l.err != nil {
		t.Fatalf("mailload: %v; stderr:\n%s", l.err, l.stderr.String())
	}
	if s := l.stderr.String(); s != "" {
		t.Logf("mailload stderr:\n%s", s)
	}
}

func atoi(t *testing.T, kv map[string]string, k string) int64 {
	t.Helper()
	v, err := strconv.ParseInt(kv[k], 10, 64)
	if err != nil {
		t.Fatalf("report field %s=%q: %v", k, kv[k], err)
	}
	return v
}

// TestLoad holds many idle sessions, then logs in continuously, then
// mixes logins with 256 KiB FETCHes across reloads. It reports the figures
// (descriptors, RSS per session, login rate, latencies) and asserts only
// correctness: every session logged in, no error, every byte delivered,
// at most two descriptors per session in the proxy.
func TestLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("load test: skipped with -short")
	}
	hard := raiseNofile(t)
	// The proxy holds 2 descriptors per idle session, the backend (in this
	// process) one, mailload (its own process) one.
	n := 9000
	if m := int(hard-500) / 2; m < n {
		t.Logf("descriptor limit %d: holding %d sessions instead of 9000", hard, m)
		n = m
	}

	be, err := mailtest.StartIMAPBackend("127.0.0.1:0", map[string]string{"alice": "secret"}, false)
	if err != nil {
		t.Fatal(err)
	}
	defer be.Close()
	msg := mailtest.SizedMessage("alice", 256<<10)
	if _, err := be.Append("alice", msg); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(msg)
	listen := freePort(t)
	p := startBinary(t, imapConfig(listen, authOK(t, be.Addr())))
	pid := p.cmd.Process.Pid
	mailloadBinary(t)
	common := []string{"-addr", listen, "-user", "alice", "-pass", "secret", "-timeout", "20s"}

	// Warm up, so lazily opened descriptors exist before the baseline.
	c, r := login(t, listen)
	io.WriteString(c, "w SELECT INBOX\r\n")
	for !strings.HasPrefix(readLine(t, c, r), "w ") {
	}
	c.Close()
	time.Sleep(200 * time.Millisecond)
	baseFDs, baseRSS := p.fds(t), vmRSS(t, pid)

	t.Run("idle", func(t *testing.T) {
		start := time.Now()
		l := startLoad(t, append(common, "-mode", "idle", "-sessions", strconv.Itoa(n), "-concurrency", "64", "-duration", "90s")...)
		ready := l.next(t, "ready", 80*time.Second)
		time.Sleep(500 * time.Millisecond) // let the proxy finish its side
		fds, rss := p.fds(t)-baseFDs, vmRSS(t, pid)
		l.cmd.Process.Signal(syscall.SIGTERM)
		rep := l.next(t, "report", 30*time.Second)
		l.wait(t)
		t.Logf("%d idle sessions opened in %.1fs: proxy holds %d descriptors above its baseline of %d; RSS %d KiB -> %d KiB, %.1f KiB per idle session",
			n, time.Since(start).Seconds(), fds, baseFDs, baseRSS, rss, float64(rss-baseRSS)/float64(n))
		if atoi(t, ready, "held") != int64(n) || atoi(t, ready, "errors") != 0 {
			t.Errorf("held %s of %d sessions, %s errors", ready["held"], n, ready["errors"])
		}
		if atoi(t, rep, "held") != int64(n) || atoi(t, rep, "errors") != 0 || atoi(t, rep, "logins") != int64(n) {
			t.Errorf("at the end: held %s of %d, %s logins, %s errors", rep["held"], n, rep["logins"], rep["errors"])
		}
		if fds > 2*n+32 {
			t.Errorf("%d idle sessions hold %d descriptors in the proxy, want at most %d", n, fds, 2*n+32)
		}
		// The sessions are closed: the proxy lets their descriptors go.
		deadline := time.Now().Add(15 * time.Second)
		for p.fds(t) > baseFDs+32 && time.Now().Before(deadline) {
			time.Sleep(100 * time.Millisecond)
		}
		if got := p.fds(t); got > baseFDs+32 {
			t.Errorf("after the idle sessions closed the proxy still holds %d descriptors (baseline %d)", got, baseFDs)
		}
	})

	t.Run("logins", func(t *testing.T) {
		l := startLoad(t, append(common, "-mode", "logins", "-concurrency", "16", "-duration", "30s")...)
		rep := l.next(t, "report", 70*time.Second)
		l.wait(t)
		t.Logf("continuous logins for %s: %s logins/s sustained, p50 %s, p99 %s, max %s, %s errors",
			rep["elapsed"], rep["logins_per_s"], rep["p50"], rep["p99"], rep["max"], rep["errors"])
		if atoi(t, rep, "errors") != 0 || atoi(t, rep, "logins") == 0 {
			t.Errorf("%s errors, %s logins", rep["errors"], rep["logins"])
		}
	})

	t.Run("mixed", func(t *testing.T) {
		const reloads = 5
		before := strings.Count(p.stderr.String(), "configuration reloaded")
		logins := startLoad(t, append(common, "-mode", "logins", "-concurrency", "4", "-duration", "6s")...)
		fetches := startLoad(t, append(common, "-mode", "fetch", "-concurrency", "4", "-duration", "6s",
			"-expect-size", strconv.Itoa(len(msg)), "-expect-sha256", hex.EncodeToString(sum[:]))...)
		for range reloads {
			time.Sleep(time.Second)
			p.cmd.Process.Signal(syscall.SIGHUP)
		}
		lr := logins.next(t, "report", 40*time.Second)
		fr := fetches.next(t, "report", 40*time.Second)
		logins.wait(t)
		fetches.wait(t)
		got := strings.Count(p.stderr.String(), "configuration reloaded") - before
		t.Logf("mixed: %d reloads; %s logins (%s/s, p99 %s) and %s FETCHes of %d bytes (%s bytes, p50 %s, p99 %s), errors %s + %s",
			got, lr["logins"], lr["logins_per_s"], lr["p99"], fr["bodies"], len(msg), fr["body_bytes"], fr["p50"], fr["p99"], lr["errors"], fr["errors"])
		if got != reloads {
			t.Errorf("%d reloads logged, want %d", got, reloads)
		}
		if atoi(t, lr, "errors") != 0 || atoi(t, fr, "errors") != 0 {
			t.Errorf("errors: %s logins, %s fetches", lr["errors"], fr["errors"])
		}
		b := atoi(t, fr, "bodies")
		if b == 0 || atoi(t, fr, "ok") != b || atoi(t, fr, "body_bytes") != b*int64(len(msg)) {
			t.Errorf("%s sessions, %d verified bodies, %s body bytes: not every byte delivered", fr["ok"], b, fr["body_bytes"])
		}
	})
}
