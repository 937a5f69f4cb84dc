package proxy

import (
	"errors"
	"io"
	"mailproxy/internal/evloop"
	"mailproxy/internal/outcome"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// copyBufSize is the size of the pooled buffers used where a side is TLS.
const copyBufSize = 32 << 10

var bufPool = sync.Pool{New: func() any { b := make([]byte, copyBufSize); return &b }}

// splice relays bytes both ways until one side ends, then closes both, as
// nginx does (SPEC §11.7: no half-close is propagated). proxy_timeout is an
// idle timer re-armed only by what the client sends: data from the backend
// does not keep a session alive, as with nginx.
//
// Plain TCP on both sides is copied by the kernel (splice(2)), and the
// session is parked in the server's poller (relay.go): it returns parked,
// and an idle session holds nothing but its two sockets. Otherwise (TLS on
// a side — the client's or the backend's —, or no poller) two goroutines
// copy through pooled buffers, and splice returns the session's outcome
// when it ends.
func (cc *clientConn) splice() (end outcome.End, parked bool) {
	if _, onLoop := cc.tcp.(*evloop.Conn); onLoop {
		return cc.spliceFromLoop()
	}
	_, plainClient := cc.conn.(*net.TCPConn)
	_, plainBackend := cc.backend.(*net.TCPConn)
	if plainClient && plainBackend {
		if p := cc.srv.poller(); p != nil {
			if err := startRelay(cc, p); err == nil {
				return outcome.End{}, true
			} else {
				cc.log.Warn("could not park the session; relaying with goroutines", "err", err)
			}
		}
	}
	return cc.spliceGoroutines(), false
}

// spliceGoroutines relays with one goroutine per direction.
func (cc *clientConn) spliceGoroutines() outcome.End {
	var active atomic.Int64
	active.Store(time.Now().UnixNano())
	idle := cc.site.cfg.ProxyTimeout

	type result struct {
		toBackend bool
		err       error
	}
	done := make(chan result, 2)
	clientTCP, plainClient := cc.conn.(*net.TCPConn)
	backendTCP, plainBackend := cc.backend.(*net.TCPConn)
	plain := plainClient && plainBackend
	backend := cc.backend

	go func() {
		var n int64
		var err error
		if plain {
			n, err = spliceDir(clientTCP, backendTCP, nil, nil)
		} else {
			n, err = copyDir(cc.conn, backend, nil, nil)
		}
		atomic.AddInt64(&cc.toClient, n)
		done <- result{false, err}
	}()
	go func() {
		var n int64
		var err error
		deadline := func() error { return idleDeadline(cc.conn, idle, &active) }
		if plain {
			n, err = spliceDir(backendTCP, clientTCP, deadline, &active)
		} else {
			n, err = copyDir(backend, cc.conn, deadline, &active)
		}
		atomic.AddInt64(&cc.toBackend, n)
		done <- result{true, err}
	}()
	first := <-done
	cc.closeAll()
	<-done
	switch {
	case cc.ctx.Err() != nil:
		return outcome.Shutdown.With(first.err) // Server.Close (abort) ended it
	case first.err == nil && first.toBackend:
		return outcome.ClientClosed.With(nil)
	case first.err == nil:
		return outcome.BackendClosed.With(nil)
	case errors.Is(first.err, errIdle):
		cc.log.Info("client timed out while proxying")
		return outcome.IdleTimeout.With(first.err)
	case first.toBackend:
		return outcome.ClientError.With(first.err)
	}
	return outcome.BackendError.With(first.err)
}

// touch records client activity; active is nil for the backend→client
// direction.
func touch(active *atomic.Int64) {
	if active != nil {
		active.Store(time.Now().UnixNano())
	}
}

var errIdle = errors.New("proxy_timeout expired")

// idleDeadline is called when a read of the client timed out: it re-arms
// the deadline if the client side was active since, or reports errIdle.
func idleDeadline(c net.Conn, idle time.Duration, active *atomic.Int64) error {
	last := time.Unix(0, active.Load())
	if next := last.Add(idle); next.After(time.Now()) {
		return c.SetReadDeadline(next)
	}
	return errIdle
}

// spliceDir moves bytes from src to dst with splice(2) until src ends. It
// waits for readability without holding a pipe, then copies exactly the
// bytes that are queued. onTimeout, if set, arms src's read deadline first
// and is asked what to do when it expires. Returns bytes moved; a nil
// error means src reached EOF.
func spliceDir(dst, src *net.TCPConn, onTimeout func() error, active *atomic.Int64) (int64, error) {
	rc, err := src.SyscallConn()
	if err != nil {
		return 0, err
	}
	if onTimeout != nil {
		if err := onTimeout(); err != nil {
			return 0, err
		}
	}
	var total int64
	for {
		var avail int
		var rerr error
		err := rc.Read(func(fd uintptr) bool {
			avail, rerr = readable(fd)
			return rerr != syscall.EAGAIN
		})
		if err != nil {
			if onTimeout != nil && errors.Is(err, os.ErrDeadlineExceeded) {
				if err := onTimeout(); err != nil {
					return total, err
				}
				continue
			}
			return total, err
		}
		if rerr != nil {
			return total, rerr
		}
		if avail == 0 {
			return total, nil // EOF
		}
		n, err := io.CopyN(dst, src, int64(avail))
		total += n
		touch(active)
		if err != nil {
			if err == io.EOF {
				return total, nil
			}
			return total, err
		}
	}
}

// copyDir copies src to dst through pooled buffers (a TLS side). When src
// is a plain TCP connection it waits for readability before taking a
// buffer, so an idle direction pins no memory.
func copyDir(dst, src net.Conn, onTimeout func() error, active *atomic.Int64) (int64, error) {
	if onTimeout != nil {
		if err := onTimeout(); err != nil {
			return 0, err
		}
	}
	var rc syscall.RawConn
	if t, ok := src.(*net.TCPConn); ok {
		rc, _ = t.SyscallConn()
	}
	var total int64
	for {
		if rc != nil {
			var rerr error
			err := rc.Read(func(fd uintptr) bool {
				_, rerr = readable(fd)
				return rerr != syscall.EAGAIN
			})
			if err == nil {
				err = rerr
			}
			if err != nil {
				return total, err
			}
		}
		bp := bufPool.Get().(*[]byte)
		n, err := src.Read(*bp)
		if n > 0 {
			_, werr := dst.Write((*bp)[:n])
			total += int64(n)
			touch(active)
			if werr != nil {
				bufPool.Put(bp)
				return total, werr
			}
		}
		bufPool.Put(bp)
		if err != nil {
			if err == io.EOF {
				return total, nil
			}
			if onTimeout != nil && errors.Is(err, os.ErrDeadlineExceeded) {
				if err := onTimeout(); err != nil {
					return total, err
				}
				continue
			}
			return total, err
		}
	}
}
