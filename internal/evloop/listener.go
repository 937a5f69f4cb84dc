//go:build linux

package evloop

import (
	"net"
	"sync"

	"golang.org/x/sys/unix"
)

// Listener is a listening socket accepted from by loops. It holds its own
// descriptor, taken from a net.TCPListener that the caller then closes, so
// that Go's poller no longer watches the socket.
type Listener struct {
	sys   sysfd
	laddr *net.TCPAddr
	// local is the address accepted connections report as theirs when
	// the listener is bound to one (not a wildcard): no getsockname.
	local *net.TCPAddr

	mu    sync.Mutex
	watch []*listenWatch
}

// NewListener takes a descriptor of ln's socket.
func NewListener(ln *net.TCPListener) (*Listener, error) {
	rc, err := ln.SyscallConn()
	if err != nil {
		return nil, err
	}
	var fd int
	var derr error
	if err := rc.Control(func(s uintptr) { fd, derr = unix.FcntlInt(s, unix.F_DUPFD_CLOEXEC, 0) }); err != nil {
		return nil, err
	}
	if derr != nil {
		return nil, derr
	}
	l := &Listener{sys: sysfd{fd: fd}, laddr: ln.Addr().(*net.TCPAddr)}
	if !l.laddr.IP.IsUnspecified() {
		l.local = l.laddr
	}
	return l, nil
}

// Addr is the listening address.
func (ln *Listener) Addr() net.Addr { return ln.laddr }

// Accepted is called on the loop with each accepted connection, which
// belongs to the loop; the callee closes it.
type Accepted func(c *Conn)

// listenWatch is the listener's registration on one loop.
type listenWatch struct {
	ln     *Listener
	l      *Loop
	tok    uint64
	on     Accepted
	failed func(err error) // accept4 failed with something else than EAGAIN
	active bool
}

// Watch makes l accept from ln, calling on for each connection and failed
// for an accept error (for example EMFILE: the caller then pauses with
// Pause). Every loop watching ln is woken for one new connection at most
// (EPOLLEXCLUSIVE). On the loop l.
func (ln *Listener) Watch(l *Loop, on Accepted, failed func(error)) (*Watch, error) {
	w := &listenWatch{ln: ln, l: l, on: on, failed: failed}
	if err := w.arm(); err != nil {
		return nil, err
	}
	ln.mu.Lock()
	ln.watch = append(ln.watch, w)
	ln.mu.Unlock()
	return &Watch{w}, nil
}

// Watch is a loop's registration on a listener.
type Watch struct{ w *listenWatch }

// Pause stops accepting on this loop until Resume. On the loop.
func (h *Watch) Pause() {
	w := h.w
	if !w.active {
		return
	}
	w.active = false
	w.l.deregister(w.tok, -1)
	w.ln.sys.control(func(fd int) { unix.EpollCtl(w.l.epfd, unix.EPOLL_CTL_DEL, fd, nil) })
}

// Resume accepts again after Pause. On the loop.
func (h *Watch) Resume() error {
	if h.w.active || h.w.ln.sys.isClosed() {
		return nil
	}
	return h.w.arm()
}

func (w *listenWatch) arm() error {
	var tok uint64
	var rerr error
	err := w.ln.sys.control(func(fd int) {
		tok, rerr = w.l.register(fd, unix.EPOLLIN|unix.EPOLLEXCLUSIVE, w)
	})
	if err != nil {
		return err
	}
	if rerr != nil {
		return rerr
	}
	w.tok, w.active = tok, true
	return nil
}

// acceptBatch bounds the connections taken per report, so that one busy
// listener cannot starve the loop's sessions (level-triggered: the rest
// are reported again at once).
const acceptBatch = 32

// Ready accepts up to acceptBatch connections.
func (w *listenWatch) Ready(uint32) {
	for i := 0; i < acceptBatch && w.active; i++ {
		fd, err := w.ln.sys.acquire()
		if err != nil {
			return
		}
		nfd, sa, aerr := unix.Accept4(fd, unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC)
		w.ln.sys.release()
		switch aerr {
		case nil:
		case unix.EAGAIN, unix.ECONNABORTED, unix.EINTR:
			if aerr == unix.EAGAIN {
				return
			}
			continue
		default:
			w.failed(aerr)
			return
		}
		c, err := w.l.newConn(nfd, sockaddrToTCP(sa))
		if err != nil {
			unix.Close(nfd)
			w.failed(err)
			return
		}
		if w.ln.local != nil {
			c.laddr = w.ln.local
		}
		w.on(c)
	}
}

// Close closes the listening socket (every loop stops accepting from it).
// Any goroutine may call it.
func (ln *Listener) Close() error {
	if !ln.sys.close() {
		return net.ErrClosed
	}
	ln.mu.Lock()
	ws := ln.watch
	ln.watch = nil
	ln.mu.Unlock()
	for _, w := range ws {
		w.l.Post(func() {
			if w.active {
				w.active = false
				w.l.deregister(w.tok, -1)
			}
		})
	}
	return nil
}
