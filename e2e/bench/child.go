package bench

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// stopGrace is how long a child may take to exit after SIGTERM before it
// is killed.
const stopGrace = 5 * time.Second

// child is a process Run started. It runs in its own process group (a
// terminal's Ctrl-C reaches only mailbench, which then stops it by PID)
// and is sent deathSig if mailbench dies without stopping it.
type child struct {
	name   string
	cmd    *exec.Cmd
	exited chan struct{} // closed once Wait has returned
	err    error         // Wait's result, valid once exited is closed
}

// startChild starts cmd as a child named name.
func startChild(name string, cmd *exec.Cmd, deathSig syscall.Signal) (*child, error) {
	cmd.SysProcAttr = childAttr(deathSig)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	c := &child{name: name, cmd: cmd, exited: make(chan struct{})}
	go func() {
		c.err = cmd.Wait()
		close(c.exited)
	}()
	return c, nil
}

// pid is the child's process ID.
func (c *child) pid() int { return c.cmd.Process.Pid }

// running reports whether the child has not exited yet.
func (c *child) running() bool {
	select {
	case <-c.exited:
		return false
	default:
		return true
	}
}

// stop sends SIGTERM to the child by PID, waits up to stopGrace, then
// kills it; it returns once the child has been reaped. Calling it again
// does nothing.
func (c *child) stop() { c.stopWith(syscall.SIGTERM) }

// stopWith is stop with sig instead of SIGTERM.
func (c *child) stopWith(sig syscall.Signal) {
	if !c.running() {
		return
	}
	c.cmd.Process.Signal(sig)
	select {
	case <-c.exited:
	case <-time.After(stopGrace):
		c.cmd.Process.Kill()
		<-c.exited
	}
}

// children is the set of processes one Run started, stopped together.
type children struct {
	mu   sync.Mutex
	list []*child
	// strays are PIDs seen below a child (nginx workers) with the text
	// their command line starts with, killed if they outlive the child.
	strays map[int]string
}

func (cs *children) add(c *child) {
	cs.mu.Lock()
	cs.list = append(cs.list, c)
	cs.mu.Unlock()
}

// watch remembers the descendants of pid, so that stopAll can kill any
// that outlive their parent.
func (cs *children) watch(pid int) {
	for _, p := range treePIDs(pid) {
		if p == pid {
			continue
		}
		if cmd := cmdline(p); cmd != "" {
			cs.mu.Lock()
			if cs.strays == nil {
				cs.strays = map[int]string{}
			}
			cs.strays[p] = cmd
			cs.mu.Unlock()
		}
	}
}

// pids lists every process started or watched, to check afterwards
// that none is left.
func (cs *children) pids() []int {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	var out []int
	for _, c := range cs.list {
		out = append(out, c.pid())
	}
	for pid := range cs.strays {
		out = append(out, pid)
	}
	return out
}

// stopAll stops every child, the last started first, then kills the
// watched descendants still alive with the same command line.
func (cs *children) stopAll() {
	cs.mu.Lock()
	list, strays := cs.list, cs.strays
	cs.list, cs.strays = nil, nil
	cs.mu.Unlock()
	for i := len(list) - 1; i >= 0; i-- {
		list[i].stop()
	}
	for pid, cmd := range strays {
		if cmdline(pid) == cmd {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// cmdline returns the command line of pid, arguments joined by spaces,
// or "" if it is gone.
func cmdline(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(strings.ReplaceAll(string(b), "\x00", " "))
}
