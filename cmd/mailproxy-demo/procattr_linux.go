package main

import "syscall"

// sysProcAttr puts the proxy in its own process group, so a terminal's
// Ctrl-C reaches only the demo (which stops the proxy by PID), and asks the
// kernel to send it SIGTERM if the demo dies without cleaning up.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
}
