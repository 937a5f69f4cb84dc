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
	// Free descriptors: the waiting clients are served. Each one served
	// is closed at once, so that every client waiting gets a descriptor
	// whatever the first batch's size was.
	for i := range served {
		conns[i].Close()
	}
	for timeout := time.After(15 * time.Second); len(served) < n; {
		select {
		case i := <-greeted:
			served[i] = true
			conns[i].Close()
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
