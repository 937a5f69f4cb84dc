package evloop

import (
	"errors"
	"net"
	"syscall"
)

// ErrNotOwner is Hold's answer to a caller that is not the socket's
// owning task.
var ErrNotOwner = errors.New("evloop: not the connection's task")

// ErrUnsupported is New's error where there are no event loops (no
// epoll): sessions then run on goroutines.
var ErrUnsupported = errors.New("event loops need Linux (epoll)")

// ErrIdle ends a Relay whose first socket sent nothing for its idle time.
var ErrIdle = errors.New("evloop: idle timeout")

// Socket is a TCP connection as the proxy handles it: a *net.TCPConn in
// Go's poller or a *Conn on a loop.
type Socket interface {
	net.Conn
	syscall.Conn
}
