//go:build !linux

package main

import "syscall"

// sysProcAttr returns nil: the proxy shares the demo's process group, so a
// terminal's Ctrl-C reaches both; the demo still stops it by PID.
func sysProcAttr() *syscall.SysProcAttr { return nil }
