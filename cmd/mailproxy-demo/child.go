package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"
)

// stopTimeout is how long the proxy may take to exit after SIGTERM before
// it is killed.
const stopTimeout = 5 * time.Second

// defaultProxyPath returns the mailproxy binary next to this program.
func defaultProxyPath() string {
	self, err := os.Executable()
	if err != nil {
		self = os.Args[0]
	}
	name := "mailproxy"
	if runtime.GOOS == "windows" {
		name += ".exe"
	}
	return filepath.Join(filepath.Dir(self), name)
}

// proxyProcess is the running mailproxy child.
type proxyProcess struct {
	cmd    *exec.Cmd
	exited chan struct{} // closed when Wait has returned
	err    error         // Wait's result, valid once exited is closed
}

// startProxy runs "path -c config" with stdout and stderr forwarded. On
// Linux the child is in its own process group (a terminal's Ctrl-C reaches
// only the demo, which then stops it) and gets SIGTERM if the demo dies.
func startProxy(path, config string, stdout, stderr io.Writer) (*proxyProcess, error) {
	if fi, err := os.Stat(path); err != nil || fi.IsDir() {
		return nil, fmt.Errorf("no mailproxy binary at %s (build it with `make build`, or pass -mailproxy PATH)", path)
	}
	cmd := exec.Command(path, "-c", config)
	cmd.Stdout = stdout
	cmd.Stderr = stderr
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start mailproxy: %w", err)
	}
	p := &proxyProcess{cmd: cmd, exited: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

// pid returns the child's process ID.
func (p *proxyProcess) pid() int { return p.cmd.Process.Pid }

// stop sends SIGTERM to the child (by PID), waits up to stopTimeout and
// then kills it. It returns once the child has been reaped.
func (p *proxyProcess) stop() {
	select {
	case <-p.exited:
		return
	default:
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		p.cmd.Process.Kill() // e.g. Windows, which has no SIGTERM
	}
	select {
	case <-p.exited:
	case <-time.After(stopTimeout):
		p.cmd.Process.Kill()
		<-p.exited
	}
}

// probeTarget is a listener waitListening checks: addr is dialled, over
// TLS with tls when it is not nil, and must greet as protocol (imap, pop3
// or smtp) does.
type probeTarget struct {
	protocol string
	addr     string
	tls      *tls.Config
}

// waitListening polls each target until it answers with its protocol's
// greeting. It fails if the child exits, ctx ends, or timeout passes first.
func (p *proxyProcess) waitListening(ctx context.Context, timeout time.Duration, targets ...probeTarget) error {
	deadline := time.Now().Add(timeout)
	for _, t := range targets {
		for {
			err := probe(t)
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("mailproxy is not answering on %s after %v: %w", t.addr, timeout, err)
			}
			select {
			case <-p.exited:
				return fmt.Errorf("mailproxy exited during start-up: %v", exitText(p.err))
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
	return nil
}

// probeDialogue is how probe greets and leaves one protocol.
type probeDialogue struct {
	greeting string // prefix of the greeting's (last) line
	more     string // prefix of a greeting line that another follows
	quit     string // command that ends the session
	done     string // prefix of the last line of the answer to quit
}

// probeDialogues maps a protocol to its dialogue.
var probeDialogues = map[string]probeDialogue{
	"imap": {greeting: "* OK", quit: "probe LOGOUT\r\n", done: "probe "},
	"pop3": {greeting: "+OK", quit: "QUIT\r\n", done: "+OK"},
	"smtp": {greeting: "220 ", more: "220-", quit: "QUIT\r\n", done: "221 "},
}

// probe connects to t, reads the greeting and quits politely, so the
// proxy logs an ordinary short session rather than an aborted one. Only a
// missing or wrong greeting is an error.
func probe(t probeTarget) error {
	d, ok := probeDialogues[t.protocol]
	if !ok {
		return fmt.Errorf("cannot probe protocol %q", t.protocol)
	}
	c, err := net.DialTimeout("tcp", t.addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if t.tls != nil {
		c = tls.Client(c, t.tls)
	}
	r := bufio.NewReader(c)
	greeting, err := r.ReadString('\n')
	for err == nil && d.more != "" && strings.HasPrefix(greeting, d.more) {
		greeting, err = r.ReadString('\n')
	}
	if err != nil {
		return err
	}
	if !strings.HasPrefix(greeting, d.greeting) {
		return fmt.Errorf("unexpected %s greeting %q", t.protocol, greeting)
	}
	if _, err := io.WriteString(c, d.quit); err == nil {
		for {
			line, err := r.ReadString('\n')
			if err != nil || strings.HasPrefix(line, d.done) {
				break
			}
		}
	}
	return nil
}

// exitText describes a Wait result.
func exitText(err error) string {
	var ee *exec.ExitError
	switch {
	case err == nil:
		return "exit status 0"
	case errors.As(err, &ee):
		return ee.ProcessState.String()
	}
	return err.Error()
}

// checkFree fails if addr cannot be bound now, so a port clash is reported
// before the proxy starts rather than in its log.
func checkFree(flagName, addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("cannot use %s for -%s: %w", addr, flagName, err)
	}
	return ln.Close()
}
