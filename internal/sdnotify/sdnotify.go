// Package sdnotify tells systemd about the daemon's state through the
// sd_notify(3) protocol: one datagram of newline-separated KEY=VALUE
// assignments sent to the unix socket named by $NOTIFY_SOCKET. It is
// hand-written (no dependency) and covers what a Type=notify unit needs:
//
//	sdnotify.Ready()              // after every listener is bound
//	sdnotify.Reloading()          // on SIGHUP, before the new configuration is applied
//	sdnotify.Ready()              // once the new configuration runs (or the old one is kept)
//	sdnotify.Stopping()           // when a stop begins
//	sdnotify.Status("draining 3 sessions")
//
// Every function returns (false, nil) when the process was not started by
// systemd with notification enabled ($NOTIFY_SOCKET unset or empty), so
// callers may call them unconditionally. An error means systemd asked for
// notifications and one could not be delivered; log it, it is never fatal.
// $NOTIFY_SOCKET is read on every call and left in the environment,
// because a daemon notifies many times (ready, reloading, ready again,
// stopping).
package sdnotify

import (
	"errors"
	"net"
	"os"
	"strconv"
	"strings"
)

// Env is the environment variable systemd sets to the notification socket:
// an absolute path, or "@name" for a socket in the abstract namespace.
const Env = "NOTIFY_SOCKET"

// ErrAddress is returned when $NOTIFY_SOCKET is neither an absolute path
// nor an abstract "@name" (for example the "vsock:" form of systemd 254+,
// which this package does not speak).
var ErrAddress = errors.New("sdnotify: unsupported " + Env + " address")

// Notify sends state, one or more "KEY=VALUE" lines separated by "\n",
// as one datagram to $NOTIFY_SOCKET. It reports sent=true only when the
// whole datagram was written. Outside systemd it returns (false, nil).
// It is safe for concurrent use: each call opens its own socket.
func Notify(state string) (sent bool, err error) {
	addr := os.Getenv(Env)
	if addr == "" {
		return false, nil
	}
	switch addr[0] {
	case '@':
		// Linux abstract namespace: a leading NUL in place of the '@'.
		addr = "\x00" + addr[1:]
	case '/':
	default:
		return false, ErrAddress
	}
	c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: addr, Net: "unixgram"})
	if err != nil {
		return false, err
	}
	defer c.Close()
	n, err := c.Write([]byte(state))
	if err != nil {
		return false, err
	}
	if n != len(state) {
		return false, errors.New("sdnotify: short write")
	}
	return true, nil
}

// Ready sends READY=1: start-up (or a reload) is complete. A Type=notify
// unit stays "activating" until the first READY=1, and systemctl start
// waits for it.
func Ready() (bool, error) { return Notify("READY=1") }

// Reloading sends RELOADING=1 with MONOTONIC_USEC set to the current
// CLOCK_MONOTONIC time in microseconds, as systemd 253+ requires for
// Type=notify-reload (older systemd ignores the extra field). The unit is
// shown "reloading" until the next Ready.
func Reloading() (bool, error) {
	state := "RELOADING=1"
	if usec, ok := monotonicUsec(); ok {
		state += "\nMONOTONIC_USEC=" + strconv.FormatUint(usec, 10)
	}
	return Notify(state)
}

// Stopping sends STOPPING=1: a stop has begun (for mailproxy, a graceful
// drain or an immediate stop).
func Stopping() (bool, error) { return Notify("STOPPING=1") }

// Status sends STATUS=text, the one-line status shown by systemctl status.
// A newline in text would start a new assignment, so newlines become
// spaces.
func Status(text string) (bool, error) {
	return Notify("STATUS=" + strings.ReplaceAll(text, "\n", " "))
}
