package proxy

import (
	"bufio"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"mailproxy/config"
	"mailproxy/internal/mailtest"
)

// gateWith returns a gate configured for one server of one listener,
// max_connections maxConns and a descriptor limit leaving budget
// descriptors to sessions and refusals.
func gateWith(t *testing.T, maxConns, budget int) *gate {
	t.Helper()
	g := newGate()
	g.fdLimitFn = func() int { return budget + fixedFDs + 1 }
	g.configure(&config.Config{MaxConnections: maxConns, Servers: []*config.Server{{Listen: []config.Listen{{}}}}}, nil)
	if g.budget != budget {
		t.Fatalf("budget %d, want %d", g.budget, budget)
	}
	return g
}

// TestGateDescriptors: sessions are admitted while three descriptors
// each are free beside the refusals' reserve; then clients are refused
// (one descriptor each, a bounded number at a time), then dropped, and
// the accept loop must wait. A spliced session gives one back.
func TestGateDescriptors(t *testing.T) {
	g := gateWith(t, 0, 100) // refusals: 100/16 = 6; sessions: (100-6)/3 = 31
	for i := range 31 {
		if a, _ := g.admit(); a != admitServe {
			t.Fatalf("session %d: %v", i, a)
		}
	}
	for i := range 6 {
		if a, reason := g.admit(); a != admitRefuse || reason != "descriptors" {
			t.Fatalf("refusal %d: %v %s", i, a, reason)
		}
	}
	if !g.full() {
		t.Fatal("not full with every refusal in flight")
	}
	if a, _ := g.admit(); a != admitDrop {
		t.Fatalf("past the refusals: %v", a)
	}
	g.refused()
	if g.full() {
		t.Fatal("full after a refusal ended")
	}
	g.spliced()
	g.spliced()
	g.spliced() // three spliced sessions free room for one more
	if a, _ := g.admit(); a != admitServe {
		t.Fatalf("after three logins: %v", a)
	}
	if s, u := g.counts(); s != 32 || u != 32*3-3 {
		t.Fatalf("sessions %d units %d", s, u)
	}
	g.ended(3)
	if s, _ := g.counts(); s != 31 {
		t.Fatalf("sessions %d", s)
	}
}

// TestGateMaxConnections: max_connections caps sessions whatever the
// descriptors; the refused get the try-later reply for that reason.
func TestGateMaxConnections(t *testing.T) {
	g := gateWith(t, 2, 1000)
	g.admit()
	g.admit()
	if a, reason := g.admit(); a != admitRefuse || reason != "max_connections" {
		t.Fatalf("third: %v %s", a, reason)
	}
	g.refused()
	g.ended(sessionFDs)
	if a, _ := g.admit(); a != admitServe {
		t.Fatalf("after one ended: %v", a)
	}
}

// TestGateWait: wait returns when descriptors are released, else after
// its timeout.
func TestGateWait(t *testing.T) {
	g := gateWith(t, 1, 100)
	g.admit()
	done := make(chan struct{})
	go func() { g.wait(time.Minute); close(done) }()
	for {
		g.mu.Lock()
		w := g.waiters
		g.mu.Unlock()
		if w == 1 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	g.ended(sessionFDs)
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("wait did not return on release")
	}
	start := time.Now()
	g.wait(20 * time.Millisecond)
	if time.Since(start) < 20*time.Millisecond {
		t.Fatal("wait returned early")
	}
}

// TestGateEvery: one log line per kind and interval, the others counted.
func TestGateEvery(t *testing.T) {
	g := newGate()
	if ok, _ := g.every("a"); !ok {
		t.Fatal("first")
	}
	for range 3 {
		if ok, _ := g.every("a"); ok {
			t.Fatal("second within the interval")
		}
	}
	if ok, _ := g.every("b"); !ok {
		t.Fatal("another kind")
	}
	g.logs["a"].last = time.Now().Add(-logEvery)
	if ok, skipped := g.every("a"); !ok || skipped != 3 {
		t.Fatalf("after the interval: %v %d", ok, skipped)
	}
}

// pauseCounter counts accept pauses (an Observer).
type pauseCounter struct {
	noObserver
	n atomic.Int64
}

func (p *pauseCounter) AcceptPaused(string) { p.n.Add(1) }

// TestAcceptPausesAtDescriptorLimit runs a proxy in a child process whose
// descriptor limit leaves room for a few connections, with the gate told
// the limit is far away, so that accept itself fails with EMFILE: the
// loop must pause without spinning (a handful of pauses while clients
// wait, one log line), and serve the waiting clients once descriptors are
// free again.
func TestAcceptPausesAtDescriptorLimit(t *testing.T) {
	if os.Getenv("MAILPROXY_FD_CHILD") != "" {
		t.Skip("the child's own run")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestDescriptorLimitChild$", "-test.v", "-test.short")
	cmd.Env = append(os.Environ(), "MAILPROXY_FD_CHILD=1")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	lines := bufio.NewScanner(out)
	field := func(prefix string) string {
		for lines.Scan() {
			if v, ok := strings.CutPrefix(lines.Text(), prefix); ok {
				return v
			}
		}
		t.Fatalf("the child said no %q", prefix)
		return ""
	}
	addr := field("ADDR ")
	free, _ := strconv.Atoi(field("FREE "))

	// More clients than descriptors: the first get their greeting, the
	// others wait in the backlog.
	n := free + 8
	conns := make([]net.Conn, n)
	greeted := make(chan int, n)
	for i := range conns {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		conns[i] = c
		go func(i int) {
			c.SetReadDeadline(time.Now().Add(20 * time.Second))
			buf := make([]byte, len("* OK IMAP4 ready\r\n"))
			if _, err := io.ReadFull(c, buf); err == nil && string(buf) == "* OK IMAP4 ready\r\n" {
				greeted <- i
			}
		}(i)
	}
	// The first few are served (about free: the count is approximate),
	// then nothing more while the others wait: the loop pauses.
	served := map[int]bool{}
	for quiet := time.NewTimer(10 * time.Second); ; {
		select {
		case i := <-greeted:
			served[i] = true
			quiet.Reset(1500 * time.Millisecond)
			continue
		case <-quiet.C:
		}
		break
	}
	if len(served) == 0 || len(served) >= n {
		t.Fatalf("%d of %d clients served with %d descriptors free", len(served), n, free)
	}
	first := len(served)
	time.Sleep(2 * time.Second)
	select {
	case i := <-greeted:
		t.Fatalf("client %d served with no descriptor free", i)
	default:
	}
	// Free descriptors: the waiting clients are served.
	for i := range served {
		conns[i].Close()
	}
	for timeout := time.After(15 * time.Second); len(served) < n; {
		select {
		case i := <-greeted:
			served[i] = true
		case <-timeout:
			t.Fatalf("%d of %d clients served after descriptors were freed", len(served), n)
		}
	}
	stdin.Close()
	pauses, _ := strconv.Atoi(field("PAUSES "))
	logLines, _ := strconv.Atoi(field("LOGLINES "))
	cmd.Wait()
	t.Logf("%d of %d clients served at first; %d pauses, %d log lines while the others waited", first, n, pauses, logLines)
	if pauses < 1 || pauses > 40 {
		t.Errorf("%d accept pauses while clients waited 3.5 s: want a few (backing off), not a spin", pauses)
	}
	if logLines != 1 {
		t.Errorf("%d log lines about the pause, want 1", logLines)
	}
}

// TestDescriptorLimitChild is the child of
// TestAcceptPausesAtDescriptorLimit.
func TestDescriptorLimitChild(t *testing.T) {
	if os.Getenv("MAILPROXY_FD_CHILD") == "" {
		t.Skip("run by TestAcceptPausesAtDescriptorLimit")
	}
	cfg, err := config.Parse("child.yaml", []byte("mail: {auth_http: 127.0.0.1:1}\nservers: [{protocol: imap, listen: [\"127.0.0.1:0\"]}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	logs := &mailtest.SyncBuffer{}
	s, err := New(cfg, slog.New(slog.NewTextHandler(logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	s.gate.fdLimitFn = func() int { return 1 << 20 } // the gate does not see the limit coming
	s.gate.configure(cfg, nil)
	pc := &pauseCounter{}
	s.SetObserver(pc)
	if err := s.Listen(); err != nil {
		t.Fatal(err)
	}
	go s.Serve()
	defer s.Close()
	open := openDescriptors(t)
	const free = 6
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &syscall.Rlimit{Cur: uint64(open + free), Max: uint64(open + free + 4096)}); err != nil {
		t.Fatal(err)
	}
	fmt.Printf("ADDR %s\nFREE %d\n", s.Addrs()[0], free)
	io.Copy(io.Discard, os.Stdin)
	fmt.Printf("PAUSES %d\nLOGLINES %d\n", pc.n.Load(), strings.Count(logs.String(), "accept paused"))
}

// openDescriptors counts this process's open descriptors.
func openDescriptors(t *testing.T) int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd")
	}
	return len(ents) - 1 // less the directory read to count them
}
