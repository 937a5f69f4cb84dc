//go:build linux

package evloop

import (
	"context"
	"io"
	"math"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Conn is a TCP connection owned by a loop: a net.Conn over a non-blocking
// socket, registered once (edge-triggered) in the loop's epoll set. Its
// owning task reads and writes it directly, parking on EAGAIN; a Watcher
// can take its reports instead once no task uses it (SetWatcher).
// Release hands it to Go's poller for use from any goroutine.
type Conn struct {
	l   *Loop
	tok uint64

	sys sysfd

	mu      sync.Mutex // the deadlines and waiting, for foreign goroutines
	rdl     int64
	wdl     int64
	waiting bool // a task is parked in wait

	// owner is the task that reads and writes the socket directly (nil:
	// none, e.g. once a watcher takes the reports).
	owner *Task

	// On the loop:
	// rready, wready: the socket may have bytes to read, room to write.
	// A report sets them; EAGAIN (or a short read) clears them.
	rready, wready bool
	hup            bool  // the peer hung up or the connection failed
	waiter         *Task // the task parked on this socket
	timer          *Timer
	watcher        Watcher
	// inner is the net.Conn that replaces the socket after Release.
	inner atomic.Pointer[innerConn]

	laddr, raddr net.Addr
	localFn      func() net.Addr // computes laddr on first use
}

// events are the reports every socket is registered for.
const events uint32 = syscall.EPOLLIN | syscall.EPOLLOUT | syscall.EPOLLRDHUP | 1<<31 // EPOLLET

// newConn registers fd (non-blocking, close-on-exec) on l. On the loop.
func (l *Loop) newConn(fd int, raddr net.Addr) (*Conn, error) {
	c := &Conn{l: l, sys: sysfd{fd: fd}, raddr: raddr}
	tok, err := l.register(fd, events, c)
	if err != nil {
		return nil, err
	}
	c.tok = tok
	return c, nil
}

// moreToRead reports, after a read of n bytes into a buffer of size
// (err its error), whether the socket may hold more: edge-triggered, a
// short read emptied the queue and any later data brings a new report;
// only a full read, an end of stream still to be read (hup) or an error
// other than EAGAIN leaves something to look at.
func moreToRead(n, size int, err error, hup bool) bool {
	switch {
	case err == syscall.EAGAIN:
		return false
	case err != nil:
		return true
	}
	return n == size || n == 0 || hup
}

// Ready records a report and wakes the parked task, or passes the report
// to the watcher.
func (c *Conn) Ready(ev uint32) {
	if ev&(syscall.EPOLLIN|syscall.EPOLLRDHUP|syscall.EPOLLHUP|syscall.EPOLLERR) != 0 {
		c.rready = true
	}
	if ev&(syscall.EPOLLOUT|syscall.EPOLLHUP|syscall.EPOLLERR) != 0 {
		c.wready = true
	}
	if ev&(syscall.EPOLLRDHUP|syscall.EPOLLHUP|syscall.EPOLLERR) != 0 {
		c.hup = true
	}
	if c.waiter != nil {
		c.l.ready(c.waiter)
	}
	if c.watcher != nil {
		c.watcher.Ready(ev)
	}
}

// SetWatcher routes the socket's reports to w and ends the owning task's
// hold on it: from then on only loop code (w) uses the socket directly.
// On the loop.
func (c *Conn) SetWatcher(w Watcher) { c.watcher, c.owner = w, nil }

// Adopt makes the task of ctx (see Go) the socket's owner: its reads and
// writes park the task instead of a thread. A Conn made by Dial in a task
// is owned by it already; an accepted one is adopted by the task serving
// it.
func (c *Conn) Adopt(ctx context.Context) { c.owner = FromContext(ctx) }

// onLoop reports whether the caller is the owning task, running on the
// loop (not parked in Block, whose function runs on another goroutine).
func (c *Conn) onLoop() bool {
	t := c.owner
	return t != nil && t.running() && !t.blocked.Load()
}

// Loop returns the loop c belongs to.
func (c *Conn) Loop() *Loop { return c.l }

func (c *Conn) acquire() (int, error) { return c.sys.acquire() }
func (c *Conn) releaseFD()            { c.sys.release() }

// Read reads into b; in the owning task it parks until data, the end of
// the stream or the read deadline.
func (c *Conn) Read(b []byte) (int, error) {
	if in := c.inner.Load(); in != nil {
		return in.Read(b)
	}
	for {
		own := c.onLoop()
		if own && !c.rready {
			// Drained at the last read: no read until a report says
			// more came (it would only return EAGAIN).
			if err := c.wait(true, true); err != nil {
				return 0, c.opError("read", err)
			}
		}
		fd, err := c.acquire()
		if err != nil {
			return 0, c.opError("read", err)
		}
		n, err := syscall.Read(fd, b)
		c.releaseFD()
		if own {
			c.rready = moreToRead(n, len(b), err, c.hup)
		}
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN:
			if err := c.wait(own, true); err != nil {
				return 0, c.opError("read", err)
			}
			continue
		case err != nil:
			return 0, c.opError("read", os.NewSyscallError("read", err))
		case n == 0 && len(b) > 0:
			return 0, io.EOF
		}
		return n, nil
	}
}

// Write writes all of b unless an error or the write deadline stops it.
func (c *Conn) Write(b []byte) (int, error) {
	if in := c.inner.Load(); in != nil {
		return in.Write(b)
	}
	done := 0
	for done < len(b) {
		fd, err := c.acquire()
		if err != nil {
			return done, c.opError("write", err)
		}
		own := c.onLoop()
		n, err := syscall.Write(fd, b[done:])
		c.releaseFD()
		if own {
			c.wready = err != syscall.EAGAIN
		}
		if n > 0 {
			done += n
		}
		switch {
		case err == syscall.EINTR:
		case err == syscall.EAGAIN:
			if err := c.wait(own, false); err != nil {
				return done, c.opError("write", err)
			}
		case err != nil:
			return done, c.opError("write", os.NewSyscallError("write", err))
		}
	}
	return done, nil
}

// wait parks the owning task (own) until the socket is readable (read)
// or writable, or its deadline passes, or it is closed. Any other caller
// waits with poll(2), holding a thread.
func (c *Conn) wait(own, read bool) error {
	if !own {
		return c.pollWait(read)
	}
	for {
		if read && c.rready || !read && c.wready {
			return nil
		}
		if c.sys.isClosed() {
			return net.ErrClosed
		}
		c.mu.Lock()
		dl := c.wdl
		if read {
			dl = c.rdl
		}
		c.waiting = true
		c.mu.Unlock()
		if dl != 0 && dl <= time.Now().UnixNano() {
			c.setWaiting(false)
			return os.ErrDeadlineExceeded
		}
		c.sleep(dl)
	}
}

// sleep parks the owning task, marked waiting, until a report for the
// socket, a wake (Close, a deadline change) or the time until (UnixNano;
// 0: none). It clears the waiting mark.
func (c *Conn) sleep(until int64) {
	if until != 0 {
		if c.timer == nil {
			c.timer = NewTimer(c.wake)
		}
		c.l.ResetTimer(c.timer, until)
	}
	c.waiter = c.owner
	c.owner.park()
	c.waiter = nil
	c.setWaiting(false)
	if until != 0 {
		c.l.StopTimer(c.timer)
	}
}

func (c *Conn) setWaiting(w bool) {
	c.mu.Lock()
	c.waiting = w
	c.mu.Unlock()
}

// wake resumes the parked task to look at the socket, the deadlines and
// Close again. On the loop.
func (c *Conn) wake() {
	if c.waiter != nil {
		c.l.ready(c.waiter)
	}
}

// pollWait waits with poll(2) for a caller that is not the owning task.
func (c *Conn) pollWait(read bool) error {
	ev := int16(unix.POLLIN)
	if !read {
		ev = unix.POLLOUT
	}
	for {
		c.mu.Lock()
		dl := c.wdl
		if read {
			dl = c.rdl
		}
		c.mu.Unlock()
		ms := 100
		if dl != 0 {
			left := dl - time.Now().UnixNano()
			if left <= 0 {
				return os.ErrDeadlineExceeded
			}
			ms = min(ms, int((left+int64(time.Millisecond)-1)/int64(time.Millisecond)))
		}
		fd, err := c.acquire()
		if err != nil {
			return err
		}
		pfd := [1]unix.PollFd{{Fd: int32(fd), Events: ev}}
		n, perr := unix.Poll(pfd[:], ms)
		c.releaseFD()
		if perr != nil && perr != syscall.EINTR {
			return os.NewSyscallError("poll", perr)
		}
		if n > 0 {
			return nil
		}
	}
}

// Close closes the socket; any goroutine may call it. A parked task is
// woken and sees net.ErrClosed; a watcher gets a report and sees the same
// on its next use.
func (c *Conn) Close() error {
	if in := c.inner.Load(); in != nil {
		return in.Close()
	}
	if !c.sys.close() {
		return c.opError("close", net.ErrClosed)
	}
	// Whoever the caller is, the loop forgets the socket and tells a
	// parked task or the watcher itself, as a hang-up: their next use of
	// the socket fails with net.ErrClosed.
	c.l.Post(func() {
		c.l.deregister(c.tok, -1)
		c.Ready(syscall.EPOLLHUP)
	})
	return nil
}

// CloseWrite shuts the sending side down.
func (c *Conn) CloseWrite() error {
	if in := c.inner.Load(); in != nil {
		if cw, ok := in.Conn.(interface{ CloseWrite() error }); ok {
			return cw.CloseWrite()
		}
		return nil
	}
	fd, err := c.acquire()
	if err != nil {
		return c.opError("close", err)
	}
	defer c.releaseFD()
	return syscall.Shutdown(fd, syscall.SHUT_WR)
}

// SetNoDelay sets TCP_NODELAY (a loop's sockets start without it).
func (c *Conn) SetNoDelay(noDelay bool) error {
	if in := c.inner.Load(); in != nil {
		if nd, ok := in.Conn.(interface{ SetNoDelay(bool) error }); ok {
			return nd.SetNoDelay(noDelay)
		}
		return nil
	}
	on := 0
	if noDelay {
		on = 1
	}
	var err error
	if cerr := c.sys.control(func(fd int) {
		err = unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, on)
	}); cerr != nil {
		return c.opError("set", cerr)
	}
	if err != nil {
		return c.opError("set", os.NewSyscallError("setsockopt", err))
	}
	return nil
}

// SetDeadline sets both deadlines; any goroutine may call it.
func (c *Conn) SetDeadline(t time.Time) error {
	if in := c.inner.Load(); in != nil {
		return in.SetDeadline(t)
	}
	return c.setDeadlines(t, true, true)
}

// SetReadDeadline sets the read deadline; any goroutine may call it.
func (c *Conn) SetReadDeadline(t time.Time) error {
	if in := c.inner.Load(); in != nil {
		return in.SetReadDeadline(t)
	}
	return c.setDeadlines(t, true, false)
}

// SetWriteDeadline sets the write deadline; any goroutine may call it.
func (c *Conn) SetWriteDeadline(t time.Time) error {
	if in := c.inner.Load(); in != nil {
		return in.SetWriteDeadline(t)
	}
	return c.setDeadlines(t, false, true)
}

func (c *Conn) setDeadlines(t time.Time, r, w bool) error {
	var ns int64
	if !t.IsZero() {
		ns = t.UnixNano()
	}
	c.mu.Lock()
	if r {
		c.rdl = ns
	}
	if w {
		c.wdl = ns
	}
	waiting := c.waiting
	c.mu.Unlock()
	if waiting {
		// A parked task (this caller is another goroutine) looks again.
		c.l.Post(c.wake)
	}
	return nil
}

// LocalAddr returns the local address (getsockname on first use unless
// the listener's address says it).
func (c *Conn) LocalAddr() net.Addr {
	if in := c.inner.Load(); in != nil {
		return in.LocalAddr()
	}
	if c.laddr == nil {
		if c.localFn != nil {
			c.laddr = c.localFn()
		} else if fd, err := c.acquire(); err == nil {
			if sa, err := unix.Getsockname(fd); err == nil {
				c.laddr = sockaddrToTCP(sa)
			}
			c.releaseFD()
		}
		if c.laddr == nil {
			c.laddr = &net.TCPAddr{}
		}
	}
	return c.laddr
}

// RemoteAddr returns the peer's address.
func (c *Conn) RemoteAddr() net.Addr {
	if in := c.inner.Load(); in != nil {
		return in.RemoteAddr()
	}
	return c.raddr
}

// SyscallConn gives access to the socket: Control runs on the descriptor
// held open; Read and Write wait for readiness as the connection does.
func (c *Conn) SyscallConn() (syscall.RawConn, error) {
	if in := c.inner.Load(); in != nil {
		if sc, ok := in.Conn.(syscall.Conn); ok {
			return sc.SyscallConn()
		}
	}
	return rawConn{c}, nil
}

type rawConn struct{ c *Conn }

func (r rawConn) Control(f func(fd uintptr)) error {
	fd, err := r.c.acquire()
	if err != nil {
		return err
	}
	defer r.c.releaseFD()
	f(uintptr(fd))
	return nil
}

func (r rawConn) Read(f func(fd uintptr) bool) error  { return r.io(f, true) }
func (r rawConn) Write(f func(fd uintptr) bool) error { return r.io(f, false) }

func (r rawConn) io(f func(fd uintptr) bool, read bool) error {
	for {
		fd, err := r.c.acquire()
		if err != nil {
			return err
		}
		own := r.c.onLoop()
		if own && read {
			r.c.rready = false
		} else if own {
			r.c.wready = false
		}
		done := f(uintptr(fd))
		r.c.releaseFD()
		if done {
			// f's system calls are unknown: assume it left bytes queued.
			if own && read {
				r.c.rready = true
			} else if own {
				r.c.wready = true
			}
			return nil
		}
		if err := r.c.wait(own, read); err != nil {
			return err
		}
	}
}

func (c *Conn) opError(op string, err error) error {
	if err == io.EOF {
		return err
	}
	return &net.OpError{Op: op, Net: "tcp", Source: c.laddr, Addr: c.raddr, Err: err}
}

func sockaddrToTCP(sa unix.Sockaddr) *net.TCPAddr {
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		return &net.TCPAddr{IP: net.IP(append([]byte(nil), a.Addr[:]...)), Port: a.Port}
	case *unix.SockaddrInet6:
		return &net.TCPAddr{IP: net.IP(append([]byte(nil), a.Addr[:]...)), Port: a.Port}
	}
	return nil
}

// setNanoDeadlines gives nc the deadlines (UnixNano, 0 for none).
func setNanoDeadlines(nc net.Conn, rdl, wdl int64) {
	if rdl != 0 {
		nc.SetReadDeadline(time.Unix(0, rdl))
	}
	if wdl != 0 {
		nc.SetWriteDeadline(time.Unix(0, wdl))
	}
}

// Hold parks the owning task for d without reading the socket. It
// returns gone=true as soon as the peer has shut down its side or the
// connection failed (a report of EPOLLRDHUP, EPOLLHUP or EPOLLERR, also
// one that came before the call), and net.ErrClosed when the socket is
// closed meanwhile.
func (c *Conn) Hold(d time.Duration) (gone bool, err error) {
	if !c.onLoop() {
		return false, ErrNotOwner
	}
	until := int64(math.MaxInt64)
	if d < time.Duration(math.MaxInt64-time.Now().UnixNano()) {
		until = time.Now().Add(d).UnixNano()
	}
	for {
		switch {
		case c.sys.isClosed():
			return false, net.ErrClosed
		case c.hup:
			return true, nil
		case time.Now().UnixNano() >= until:
			return false, nil
		}
		c.setWaiting(true)
		c.sleep(until)
	}
}
