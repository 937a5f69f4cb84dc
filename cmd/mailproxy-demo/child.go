package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
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

// waitReady polls url (mailproxy's /readyz) until it answers 200, which
// mailproxy does once every listener is bound. Nothing connects to the
// mail ports, so no session shows in mailproxy's log. It fails if the
// child exits, ctx ends, or timeout passes first.
func (p *proxyProcess) waitReady(ctx context.Context, timeout time.Duration, url string) error {
	deadline := time.Now().Add(timeout)
	client := &http.Client{Timeout: time.Second}
	for {
		resp, err := client.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("%s: %s", url, resp.Status)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("mailproxy is not ready after %v: %w", timeout, err)
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
// before the proxy starts rather than in its log, with how to pick other
// ports.
func checkFree(flagName, addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("cannot use %s for -%s: %w (choose other ports: -%s ADDR, or -port-offset N to move every port; with make: make run DEMOFLAGS=-port-offset=1000)", addr, flagName, err, flagName)
	}
	return ln.Close()
}
