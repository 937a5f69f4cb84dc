//go:build !linux && !freebsd

package bench

import "syscall"

// childAttr puts a child in its own process group. This system has no
// parent-death signal: a child outlives a mailbench that dies without
// stopping it.
func childAttr(syscall.Signal) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
