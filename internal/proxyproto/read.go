package proxyproto

import (
	"errors"
	"net"
	"syscall"
	"time"
)

// Read waits until conn is readable (or deadline passes), peeks once at up
// to MaxHeader bytes, parses the header from that single peek and consumes
// exactly the header's bytes: whatever follows (a TLS ClientHello, a
// pipelined command) stays in the socket for the next stage.
func Read(conn interface {
	net.Conn
	syscall.Conn
}, deadline time.Time) (*Header, error) {
	if err := conn.SetReadDeadline(deadline); err != nil {
		return nil, err
	}
	defer conn.SetReadDeadline(time.Time{})
	rc, err := conn.SyscallConn()
	if err != nil {
		return nil, err
	}
	buf := make([]byte, MaxHeader)
	var n int
	var rerr error
	err = rc.Read(func(fd uintptr) bool {
		n, _, rerr = syscall.Recvfrom(int(fd), buf, syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		return rerr != syscall.EAGAIN
	})
	if err != nil {
		return nil, err
	}
	if rerr != nil {
		return nil, rerr
	}
	if n == 0 {
		return nil, errors.New("connection closed before the PROXY header")
	}
	h, size, err := Parse(buf[:n])
	if err != nil {
		return nil, err
	}
	if _, err := readFull(conn, buf[:size]); err != nil {
		return nil, err
	}
	return h, nil
}

func readFull(c net.Conn, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		m, err := c.Read(b[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}
