package conformance

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"mailproxy/internal/mailtest"
)

// proxyProcess is one running mailproxy.
type proxyProcess struct {
	cmd    *exec.Cmd
	stderr *mailtest.SyncBuffer
	exited chan struct{} // closed when the process has exited
}

// startProxy starts `bin -c config`, collecting its stderr.
func startProxy(bin, config string) (*proxyProcess, error) {
	p := &proxyProcess{stderr: &mailtest.SyncBuffer{}, exited: make(chan struct{})}
	p.cmd = exec.Command(bin, "-c", config)
	p.cmd.Stderr = p.stderr
	if err := p.cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		_ = p.cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

// waitListening waits until the process listens on 127.0.0.1:port, read
// from /proc/net/tcp (connecting would open a session). It fails when the
// process exits or limit passes.
func (p *proxyProcess) waitListening(port int, limit time.Duration) error {
	end := time.Now().Add(limit)
	for {
		if listening(port) {
			return nil
		}
		select {
		case <-p.exited:
			return fmt.Errorf("mailproxy exited (%v) before listening", p.cmd.ProcessState)
		default:
		}
		if time.Now().After(end) {
			return fmt.Errorf("mailproxy does not listen on port %d after %v", port, limit)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop sends SIGTERM, then SIGKILL after 2 s, and waits for the exit.
func (p *proxyProcess) stop() {
	select {
	case <-p.exited:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(2 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
}

// listening reports whether /proc/net/tcp (or tcp6) lists a socket in
// LISTEN state on 127.0.0.1:port (or the IPv4/IPv6 wildcard address).
func listening(port int) bool {
	suffix := fmt.Sprintf(":%04X", port)
	for _, fn := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		f, err := os.Open(fn)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		sc.Scan() // header
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			if len(fields) < 4 || fields[3] != "0A" || !strings.HasSuffix(fields[1], suffix) {
				continue
			}
			switch strings.TrimSuffix(fields[1], suffix) {
			case "0100007F", "00000000", strings.Repeat("0", 32), "0000000000000000FFFF00000100007F":
				f.Close()
				return true
			}
		}
		f.Close()
	}
	return false
}
