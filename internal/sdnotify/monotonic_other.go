//go:build !linux

package sdnotify

// monotonicUsec is only implemented on Linux, the one system with
// systemd; elsewhere RELOADING=1 goes without MONOTONIC_USEC.
func monotonicUsec() (uint64, bool) { return 0, false }
