package session

import (
	"net"
	"syscall"
	"time"
	"unsafe"
)

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
