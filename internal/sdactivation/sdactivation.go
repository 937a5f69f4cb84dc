// Package sdactivation receives listening sockets from systemd socket
// activation (sd_listen_fds(3)): a .socket unit binds the addresses and
// starts the service with the sockets as file descriptors 3, 4, …, and
// sets LISTEN_PID (the process they are meant for), LISTEN_FDS (how many)
// and LISTEN_FDNAMES (their FileDescriptorName= values, colon-separated).
//
// Typical use, once at start, before any listener is bound:
//
//	inherited, err := sdactivation.Listeners()
//	if err != nil { … exit 1 … }
//	for _, l := range cfg.Listens {
//		ln, name, ok := sdactivation.ByAddress(inherited, l.Address)
//		if !ok {
//			ln, err = net.Listen("tcp", l.Address) // not activated: bind it ourselves
//		}
//		…
//	}
//	// whatever is left in inherited matches no listen entry: report it
//
// Names are labels for logs: an inherited socket is matched to a listen
// entry by its local address, never by name, so one FileDescriptorName
// for every socket is enough.
//
// systemd keeps its own copy of every socket for as long as the .socket
// unit runs. Closing an inherited listener (say, because a reload dropped
// its address) therefore does not close the port: the kernel goes on
// completing connections that nobody accepts. Tell the operator to change
// the .socket unit as well.
package sdactivation

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// The environment variables of the protocol, and the first descriptor
// (SD_LISTEN_FDS_START).
const (
	EnvPID   = "LISTEN_PID"
	EnvFDs   = "LISTEN_FDS"
	EnvNames = "LISTEN_FDNAMES"
	firstFD  = 3
)

// Unnamed is the name of sockets passed without LISTEN_FDNAMES, as in
// sd_listen_fds_with_names(3).
const Unnamed = "unknown"

// Listeners returns the sockets systemd passed to this process, grouped
// by name, each group in descriptor order. It returns (nil, nil) when the
// process was not socket-activated: LISTEN_PID unset, or naming another
// process (the variables were inherited from a parent), or LISTEN_FDS
// unset. Without LISTEN_FDNAMES every socket is named Unnamed; systemd
// always sets it, to FileDescriptorName= or else the socket unit's name
// ("mailproxy.socket").
//
// Contracts:
//   - It unsets LISTEN_PID, LISTEN_FDS and LISTEN_FDNAMES in every case,
//     so a child process never mistakes them for its own.
//   - Each descriptor is marked close-on-exec before anything else is
//     done with it, then duplicated into a net.Listener (the original
//     number is closed): the caller owns the listeners and closes them.
//   - Call it once: a second call finds the variables gone and returns
//     (nil, nil).
//   - Malformed variables, a name count that differs from LISTEN_FDS, or
//     a descriptor that is not a stream socket (net.FileListener refuses
//     it) is an error; every passed descriptor is then closed and no
//     listener is returned. A unix stream socket is returned like a TCP
//     one; ByAddress never matches it.
func Listeners() (map[string][]net.Listener, error) {
	pidText, fdsText := os.Getenv(EnvPID), os.Getenv(EnvFDs)
	namesText := os.Getenv(EnvNames)
	os.Unsetenv(EnvPID)
	os.Unsetenv(EnvFDs)
	os.Unsetenv(EnvNames)

	if pidText == "" || fdsText == "" {
		return nil, nil
	}
	pid, err := strconv.Atoi(pidText)
	if err != nil || pid <= 0 {
		return nil, fmt.Errorf("sdactivation: invalid %s=%q", EnvPID, pidText)
	}
	if pid != os.Getpid() {
		return nil, nil
	}
	n, err := strconv.Atoi(fdsText)
	if err != nil || n < 0 {
		return nil, fmt.Errorf("sdactivation: invalid %s=%q", EnvFDs, fdsText)
	}
	for fd := firstFD; fd < firstFD+n; fd++ {
		syscall.CloseOnExec(fd)
	}
	closeFrom := func(from int) {
		for fd := from; fd < firstFD+n; fd++ {
			syscall.Close(fd)
		}
	}

	names := make([]string, n)
	for i := range names {
		names[i] = Unnamed
	}
	if namesText != "" && n > 0 {
		given := strings.Split(namesText, ":")
		if len(given) != n {
			closeFrom(firstFD)
			return nil, fmt.Errorf("sdactivation: %s names %d sockets, %s=%d", EnvNames, len(given), EnvFDs, n)
		}
		copy(names, given)
	}

	out := make(map[string][]net.Listener, n)
	for i, name := range names {
		fd := firstFD + i
		f := os.NewFile(uintptr(fd), name)
		ln, err := net.FileListener(f) // a close-on-exec duplicate
		f.Close()
		if err != nil {
			closeFrom(fd + 1)
			Close(out)
			return nil, fmt.Errorf("sdactivation: descriptor %d (%s): %w", fd, name, err)
		}
		out[name] = append(out[name], ln)
	}
	return out, nil
}

// Close closes every listener in inherited, for an error path or for the
// sockets ByAddress left over, and returns the first error.
func Close(inherited map[string][]net.Listener) error {
	var first error
	for _, lns := range inherited {
		for _, ln := range lns {
			if err := ln.Close(); err != nil && first == nil && !errors.Is(err, net.ErrClosed) {
				first = err
			}
		}
	}
	return first
}
