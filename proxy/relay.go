package proxy

import (
	"io"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"mailproxy/internal/outcome"
)

// relay splices a plain-TCP session (no TLS on either side) without a
// goroutine while it is idle: both sockets wait in the server's poller,
// and a short-lived goroutine moves the bytes of each readiness report
// with splice(2), then re-arms the socket. It keeps nginx's rules (SPEC
// §11.7): when either side ends, both are closed; proxy_timeout is re-armed
// only by what the client sends.
//
// The relay owns the end of the session: its summary line, the server's
// bookkeeping and wg.Done, exactly once, after the last pump has returned.
type relay struct {
	cc     *clientConn
	p      *poller
	idle   time.Duration
	timer  *time.Timer
	active atomic.Int64 // UnixNano of the client's last data
	dirs   [2]relayDir  // 0: client→backend, 1: backend→client

	mu      sync.Mutex
	closed  bool
	running int // pumps started and not yet returned
	outcome outcome.End
}

// streamChunk is the size of a move after which more bytes are likely
// queued already: the pump then looks again before re-arming.
const streamChunk = 32 << 10

// relayDir is one direction of a relay.
type relayDir struct {
	r         *relay
	toBackend bool
	src, dst  *net.TCPConn
	rc        syscall.RawConn // src's
	key       uint64
	moved     atomic.Int64
}

// startRelay parks cc (both sides plain TCP, logged in) in p. On success
// the relay owns the session's end; on error nothing was registered and
// the caller still owns everything.
func startRelay(cc *clientConn, p *poller) error {
	client, backend := cc.tcp.(*net.TCPConn), cc.backend.(*net.TCPConn)
	r := &relay{cc: cc, p: p, idle: cc.site.cfg.ProxyTimeout}
	r.active.Store(time.Now().UnixNano())
	r.dirs[0] = relayDir{r: r, toBackend: true, src: client, dst: backend}
	r.dirs[1] = relayDir{r: r, src: backend, dst: client}
	for i := range r.dirs {
		d := &r.dirs[i]
		rc, err := d.src.SyscallConn()
		if err != nil {
			return err
		}
		d.rc = rc
	}
	// Registered but not armed: a report cannot arrive before arming.
	for i := range r.dirs {
		d := &r.dirs[i]
		d.key = p.register(d.ready)
	}
	r.mu.Lock() // orders the fields above before the timer's reads
	if r.idle > 0 {
		r.timer = time.AfterFunc(r.idle, r.checkIdle)
	}
	r.mu.Unlock()
	cc.mu.Lock()
	cc.relay = r
	cc.mu.Unlock()
	// From here the relay owns the session, also when arming fails (a
	// socket closed meanwhile, e.g. by abort, which may have ended it).
	for i := range r.dirs {
		d := &r.dirs[i]
		if err := control(d.rc, func(fd int) error { return p.arm(fd, d.key, true) }); err != nil {
			r.end(d.failed(err))
			return nil
		}
	}
	return nil
}

// ready is the poller's report that d.src is readable.
func (d *relayDir) ready() {
	r := d.r
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return
	}
	r.running++
	r.mu.Unlock()
	defer r.pumpDone()
	defer func() {
		if v := recover(); v != nil {
			r.end(r.cc.panicked(v))
		}
	}()
	if end := d.pump(); end.Ended() {
		r.end(end)
	}
}

// pump moves what src has queued, then re-arms src (the poller is level
// triggered: more data that came meanwhile is reported at once, and a
// small exchange costs no extra "is there more" system calls). It returns
// the session's outcome when the session ends here, or the zero End.
func (d *relayDir) pump() outcome.End {
	var avail int
	var rerr error
	if err := d.rc.Control(func(fd uintptr) { avail, rerr = readable(fd) }); err != nil {
		return d.failed(err)
	}
	switch {
	case rerr == syscall.EAGAIN: // a spurious report
		return d.rearm()
	case rerr != nil:
		return d.failed(rerr)
	case avail == 0:
		return d.ended()
	}
	for avail > 0 {
		n, err := io.CopyN(d.dst, d.src, int64(avail))
		d.moved.Add(n)
		if d.toBackend && n > 0 {
			d.r.active.Store(time.Now().UnixNano())
		}
		switch {
		case err == io.EOF:
			return d.ended()
		case err != nil:
			return d.failed(err)
		}
		// A stream (a big chunk) keeps this goroutine while bytes keep
		// coming; after a small message, or at the end of a stream, the
		// poller reports what comes next.
		if n < streamChunk {
			break
		}
		if err := d.rc.Control(func(fd uintptr) { avail = queued(fd) }); err != nil {
			return d.failed(err)
		}
	}
	return d.rearm()
}

// rearm watches src again; the zero End unless that fails.
func (d *relayDir) rearm() outcome.End {
	if err := control(d.rc, func(fd int) error { return d.r.p.arm(fd, d.key, false) }); err != nil {
		return d.failed(err)
	}
	return outcome.End{}
}

// ended names src's end of stream as the session's outcome.
func (d *relayDir) ended() outcome.End {
	if d.toBackend {
		return outcome.ClientClosed.With(nil)
	}
	return outcome.BackendClosed.With(nil)
}

// failed names an error of this direction as the session's outcome; a
// socket closed by a hard stop (the session's context ended first) is the
// shutdown.
func (d *relayDir) failed(err error) outcome.End {
	if d.r.cc.ctx.Err() != nil {
		return outcome.Shutdown.With(nil)
	}
	if d.toBackend {
		return outcome.ClientError.With(err)
	}
	return outcome.BackendError.With(err)
}

// checkIdle runs when proxy_timeout may have passed since the client's
// last data: it ends the session, or waits for the rest of the time.
func (r *relay) checkIdle() {
	left := time.Until(time.Unix(0, r.active.Load()).Add(r.idle))
	if left > 0 {
		r.mu.Lock()
		if !r.closed {
			r.timer.Reset(left)
		}
		r.mu.Unlock()
		return
	}
	r.cc.log.Info("client timed out while proxying")
	r.end(outcome.IdleTimeout.With(nil))
}

// shutdown ends the session as the server's hard stop (abort).
func (r *relay) shutdown() { r.end(outcome.Shutdown.With(nil)) }

// end closes the session with outcome e (the first caller's wins). The
// summary follows when no pump is running any more.
func (r *relay) end(e outcome.End) {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return
	}
	r.closed, r.outcome = true, e
	idle := r.running == 0
	if r.timer != nil {
		r.timer.Stop()
	}
	r.mu.Unlock()
	r.p.unregister(r.dirs[0].key)
	r.p.unregister(r.dirs[1].key)
	r.cc.closeAll() // closing a socket also takes it out of the epoll set
	if idle {
		r.finish()
	}
}

// pumpDone marks a pump returned; the last one out of an ended relay
// finishes the session.
func (r *relay) pumpDone() {
	r.mu.Lock()
	r.running--
	last := r.closed && r.running == 0
	r.mu.Unlock()
	if last {
		r.finish()
	}
}

// finish does what serve does at the end of a session that was not parked.
func (r *relay) finish() {
	cc := r.cc
	cc.toBackend += r.dirs[0].moved.Load()
	cc.toClient += r.dirs[1].moved.Load()
	cc.outcome = r.outcome
	cc.finish()
}

// control runs f on rc's descriptor, held open meanwhile, and returns the
// first error of the two.
func control(rc syscall.RawConn, f func(fd int) error) error {
	var ferr error
	if err := rc.Control(func(fd uintptr) { ferr = f(int(fd)) }); err != nil {
		return err
	}
	return ferr
}
