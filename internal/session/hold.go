package session

import (
	"context"
	"errors"
	"net"
	"syscall"
	"time"
	"unsafe"
)

// ErrClientGone reports a client that closed or reset its connection
// while the session held it without reading (an Auth-Wait delay).
var ErrClientGone = errors.New("client closed the connection during the Auth-Wait delay")

// Hold waits d without reading the client, as nginx does during an
// Auth-Wait delay (client bytes stay in the kernel for later). It returns
// nil when d has passed, ctx's error when ctx ends first, and
// ErrClientGone as soon as the client has closed or reset c: unlike
// nginx, a session whose client left does not live out the delay the auth
// service asked for, however long (Auth-Wait has no upper bound).
//
// c must not be read by anyone else meanwhile; its read deadline is clear
// on return (as it was, the front ends clear it before the auth request).
func Hold(ctx context.Context, c net.Conn, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	gone, stop := watchHangup(c)
	defer stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-gone:
		return ErrClientGone
	}
}

// watchHangup returns a channel closed when c's peer has shut down its
// side or reset the connection, and stop, which ends the watch and waits
// for it. The watch never reads: pending client bytes are left alone. A
// connection that is not a socket is not watched.
func watchHangup(c net.Conn) (<-chan struct{}, func()) {
	gone := make(chan struct{})
	for {
		nc, ok := c.(interface{ NetConn() net.Conn }) // crypto/tls
		if !ok {
			break
		}
		c = nc.NetConn()
	}
	sc, ok := c.(syscall.Conn)
	if !ok {
		return gone, func() {}
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return gone, func() {}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		// Called at each readiness report (data, end of stream, error);
		// returning false waits for the next one.
		if rc.Read(peerGone) == nil {
			close(gone)
		}
	}()
	return gone, func() {
		c.SetReadDeadline(time.Unix(1, 0)) // ends rc.Read
		<-done
		c.SetReadDeadline(time.Time{})
	}
}

// peerGone reports whether fd's peer has shut down its sending side or the
// connection has failed, without consuming any queued byte.
func peerGone(fd uintptr) bool {
	type pollFd struct {
		fd      int32
		events  int16
		revents int16
	}
	p := pollFd{fd: int32(fd), events: pollRDHUP}
	var ts syscall.Timespec // zero: do not block
	n, _, e := syscall.Syscall6(syscall.SYS_PPOLL, uintptr(unsafe.Pointer(&p)), 1, uintptr(unsafe.Pointer(&ts)), 0, 0, 0)
	if e != 0 || n == 0 {
		return false
	}
	return p.revents&(pollRDHUP|pollHUP|pollERR) != 0
}

// poll(2) bits (asm-generic/poll.h); package syscall has none of them.
const (
	pollERR   = 0x8
	pollHUP   = 0x10
	pollRDHUP = 0x2000
)
