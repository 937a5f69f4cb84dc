//go:build linux || freebsd

package bench

import "syscall"

// childAttr puts a child in its own process group and asks the kernel to
// send it deathSig if mailbench dies without stopping it.
func childAttr(deathSig syscall.Signal) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: deathSig}
}
