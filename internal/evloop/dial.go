//go:build linux

package evloop

import (
	"context"
	"net"
	"net/netip"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// Dial connects to address ("ip:port") from the task of ctx, which then
// owns the connection; outside a task, or for a host name, it dials with
// dialer (resolving in Block). The connection attempt ends at ctx's
// deadline or when ctx ends.
func Dial(ctx context.Context, dialer *net.Dialer, network, address string) (net.Conn, error) {
	t := FromContext(ctx)
	if !t.running() || t.blocked.Load() {
		return dialer.DialContext(ctx, network, address)
	}
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		host, port, serr := net.SplitHostPort(address)
		if serr != nil {
			return nil, err
		}
		var addrs []netip.Addr
		Block(ctx, func() { addrs, err = net.DefaultResolver.LookupNetIP(ctx, ipNetwork(network), host) })
		if err != nil {
			return nil, &net.OpError{Op: "dial", Net: network, Err: err}
		}
		p, perr := net.LookupPort(network, port)
		if perr != nil {
			return nil, &net.OpError{Op: "dial", Net: network, Err: perr}
		}
		for _, a := range addrs {
			var c net.Conn
			if c, err = t.dial(ctx, network, netip.AddrPortFrom(a.Unmap(), uint16(p))); err == nil {
				return c, nil
			}
		}
		return nil, err
	}
	return t.dial(ctx, network, ap)
}

func ipNetwork(network string) string {
	switch network {
	case "tcp4":
		return "ip4"
	case "tcp6":
		return "ip6"
	}
	return "ip"
}

// dial is a non-blocking connect on t's loop.
func (t *Task) dial(ctx context.Context, network string, ap netip.AddrPort) (*Conn, error) {
	raddr := net.TCPAddrFromAddrPort(ap)
	opErr := func(err error) error {
		return &net.OpError{Op: "dial", Net: network, Addr: raddr, Err: err}
	}
	ap = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	family, sa := unix.AF_INET, unix.Sockaddr(nil)
	if ap.Addr().Is4() {
		sa = &unix.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().As4()}
	} else {
		family = unix.AF_INET6
		sa = &unix.SockaddrInet6{Port: int(ap.Port()), Addr: ap.Addr().As16()}
	}
	fd, err := unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, opErr(os.NewSyscallError("socket", err))
	}
	cerr := unix.Connect(fd, sa)
	if cerr != nil && cerr != unix.EINPROGRESS && cerr != unix.EINTR {
		unix.Close(fd)
		return nil, opErr(os.NewSyscallError("connect", cerr))
	}
	c, err := t.l.newConn(fd, raddr)
	if err != nil {
		unix.Close(fd)
		return nil, opErr(err)
	}
	c.owner = t
	if cerr == nil {
		return c, nil
	}
	if err := ctx.Err(); err != nil {
		c.Close()
		return nil, opErr(err)
	}
	if dl, ok := ctx.Deadline(); ok {
		c.SetWriteDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { c.SetWriteDeadline(time.Unix(1, 0)) })
	werr := c.wait(true, false)
	stopped := stop()
	c.SetWriteDeadline(time.Time{})
	if werr == nil && c.hup {
		// A failed connect reports EPOLLERR|EPOLLHUP (a success only
		// EPOLLOUT): only then is its error read.
		var soerr int
		rerr := c.sys.control(func(fd int) {
			soerr, werr = unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ERROR)
		})
		if werr == nil {
			werr = rerr
		}
		if werr == nil && soerr != 0 {
			werr = os.NewSyscallError("connect", unix.Errno(soerr))
		}
	}
	if werr == nil && !stopped {
		werr = ctx.Err()
	}
	if werr != nil {
		c.Close()
		if ctx.Err() != nil {
			werr = ctx.Err()
		}
		return nil, opErr(werr)
	}
	return c, nil
}
