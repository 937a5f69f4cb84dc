//go:build linux

package evloop

import (
	"net"
	"os"

	"golang.org/x/sys/unix"
)

// innerConn holds the net.Conn that carries a released Conn.
type innerConn struct{ net.Conn }

// Release hands the socket over to Go's poller: from then on c is an
// ordinary net.Conn that any goroutine may use (a TLS session relayed by
// goroutines after login). Buffered state is kept: nothing is read. On
// the loop, by the owning task.
func (c *Conn) Release() error {
	if c.inner.Load() != nil {
		return nil
	}
	var nc net.Conn
	var rerr error
	err := c.sys.control(func(fd int) {
		nfd, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0)
		if err != nil {
			rerr = os.NewSyscallError("fcntl", err)
			return
		}
		f := os.NewFile(uintptr(nfd), "evloop")
		nc, rerr = net.FileConn(f)
		f.Close()
		// The duplicate keeps the file open: take ours out of the set.
		unix.EpollCtl(c.l.epfd, unix.EPOLL_CTL_DEL, fd, nil)
	})
	if err == nil {
		err = rerr
	}
	if err != nil {
		return err
	}
	c.mu.Lock()
	rdl, wdl := c.rdl, c.wdl
	c.mu.Unlock()
	setNanoDeadlines(nc, rdl, wdl)
	c.inner.Store(&innerConn{nc})
	c.l.deregister(c.tok, -1)
	c.owner = nil
	c.sys.close()
	return nil
}

// Inner returns the connection that carries c after Release (nil before).
func (c *Conn) Inner() Socket {
	if in := c.inner.Load(); in != nil {
		if s, ok := in.Conn.(Socket); ok {
			return s
		}
	}
	return nil
}
