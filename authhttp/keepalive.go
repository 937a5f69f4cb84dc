package authhttp

import (
	"bytes"
	"net"
	"strconv"
	"sync"
	"time"
)

// KeepAlive configures connection reuse with the auth service, a
// mailproxy extension (nginx opens a new connection for every request,
// SPEC §9.1). With MaxIdle > 0 every request carries
// "Connection: keep-alive" as its last header, and a connection is kept
// for the next request when the answer allows it:
//
//   - HTTP/1.1 without "Connection: close", or any version with
//     "Connection: keep-alive";
//   - a Content-Length of at most MaxBody bytes (the body is read and
//     dropped) and no Transfer-Encoding;
//   - nothing after the body.
//
// Otherwise the connection is closed, as without keep-alive. At most
// MaxIdle connections wait for reuse, each at most IdleTimeout. A request
// on a reused connection that the service closed meanwhile (no byte of an
// answer came back) is sent again once on a new connection.
type KeepAlive struct {
	MaxIdle     int
	IdleTimeout time.Duration // ≤ 0: DefaultIdleTimeout
}

// DefaultIdleTimeout is how long an idle auth connection is kept when
// KeepAlive.IdleTimeout is not set: below the 60 s and 75 s idle limits of
// common HTTP servers, so the service rarely closes one first.
const DefaultIdleTimeout = 30 * time.Second

// MaxBody is the largest answer body read to keep a connection.
const MaxBody = 64 << 10

// keepAliveHeader ends every request when keep-alive is on.
const keepAliveHeader = "Connection: keep-alive\r\n"

// pool holds idle connections, most recently used last.
type pool struct {
	mu      sync.Mutex
	idle    []idleConn
	max     int
	timeout time.Duration
	closed  bool
}

type idleConn struct {
	c     net.Conn
	since time.Time
}

// get returns the newest idle connection that has not outlived the idle
// timeout and that usable (nil: any) accepts, or nil. It closes the stale
// ones it meets and keeps the ones usable refuses.
func (p *pool) get(usable func(net.Conn) bool) net.Conn {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	for i := len(p.idle) - 1; i >= 0; i-- {
		ic := p.idle[i]
		switch {
		case now.Sub(ic.since) >= p.timeout:
			ic.c.Close()
		case usable != nil && !usable(ic.c):
			continue
		}
		p.idle = append(p.idle[:i], p.idle[i+1:]...)
		if now.Sub(ic.since) < p.timeout {
			return ic.c
		}
	}
	return nil
}

// put keeps c for reuse, or closes it when the pool is full or closed.
// The oldest idle connection makes way when full.
func (p *pool) put(c net.Conn) {
	c.SetDeadline(time.Time{})
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		c.Close()
		return
	}
	if len(p.idle) >= p.max {
		p.idle[0].c.Close()
		p.idle = append(p.idle[:0], p.idle[1:]...)
	}
	p.idle = append(p.idle, idleConn{c, time.Now()})
}

// close closes every idle connection; later puts close theirs.
func (p *pool) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	for _, ic := range p.idle {
		ic.c.Close()
	}
	p.idle = nil
}

// reusable reports whether the connection that brought head (a complete,
// valid header block) may carry another request, and how many body bytes
// follow the head.
func reusable(head []byte) (body int, ok bool) {
	line, rest, _ := bytes.Cut(head, []byte("\n"))
	http11 := bytes.HasPrefix(line, []byte("HTTP/1.1 "))
	if !http11 && !bytes.HasPrefix(line, []byte("HTTP/1.0 ")) {
		return 0, false // an answer without a status line has no framing
	}
	keep, length := http11, -1
	for len(rest) > 0 {
		line, rest, _ = bytes.Cut(rest, []byte("\n"))
		name, value, found := bytes.Cut(bytes.TrimRight(line, "\r"), []byte(":"))
		if !found {
			continue
		}
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("Connection")):
			switch {
			case bytes.EqualFold(value, []byte("close")):
				keep = false
			case bytes.EqualFold(value, []byte("keep-alive")):
				keep = true
			}
		case bytes.EqualFold(name, []byte("Content-Length")):
			n, err := strconv.Atoi(string(value))
			if err != nil || n < 0 || (length >= 0 && n != length) {
				return 0, false
			}
			length = n
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			return 0, false
		}
	}
	if !keep || length < 0 || length > MaxBody {
		return 0, false
	}
	return length, true
}
