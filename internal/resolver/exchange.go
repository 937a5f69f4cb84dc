package resolver

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"strings"
	"time"
)

// resendInterval is how long one server is given before the query is sent
// to the next one (nginx's resolver resends every 5 seconds, rotating the
// servers), within the lookup's timeout.
var resendInterval = 5 * time.Second

// errTimedOut is a lookup that got no usable answer in time.
var errTimedOut = errors.New("dns: operation timed out")

// flight is one query in progress, shared by every lookup of the same
// name and type that starts before it ends (nginx keeps one resolver
// node per name, which concurrent lookups wait on).
type flight struct {
	done    chan struct{} // closed once m and err are set
	m       *message      // never modified once set: waiters share it
	err     error
	waiters int // guarded by Resolver.mu
	cancel  context.CancelFunc
}

type flightKey struct {
	name  string // lower case: DNS names compare without case
	qtype uint16
}

// exchange returns the answer to (name, qtype): that of the query in
// progress for the same question if there is one, else of a new query
// (see query). The query runs until its answer, or until the first
// waiter's deadline; a waiter whose ctx ends first leaves it, and the
// last one to leave cancels it.
func (r *Resolver) exchange(ctx context.Context, name string, qtype uint16) (*message, error) {
	key := flightKey{strings.ToLower(name), qtype}
	r.mu.Lock()
	f := r.flights[key]
	if f == nil {
		qctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		if dl, ok := ctx.Deadline(); ok {
			cancel()
			qctx, cancel = context.WithDeadline(context.WithoutCancel(ctx), dl)
		}
		f = &flight{done: make(chan struct{}), cancel: cancel}
		if r.flights == nil {
			r.flights = map[flightKey]*flight{}
		}
		r.flights[key] = f
		go func() {
			m, err := r.query(qctx, name, qtype)
			r.mu.Lock()
			f.m, f.err = m, err
			if r.flights[key] == f {
				delete(r.flights, key)
			}
			r.mu.Unlock()
			cancel()
			close(f.done)
		}()
	}
	f.waiters++
	r.mu.Unlock()
	select {
	case <-f.done:
		return f.m, f.err
	case <-ctx.Done():
		r.mu.Lock()
		if f.waiters--; f.waiters == 0 {
			f.cancel()
			if r.flights[key] == f {
				delete(r.flights, key)
			}
		}
		r.mu.Unlock()
		return nil, errTimedOut
	}
}

// query sends the query for (name, qtype) over UDP, rotating the servers
// every resendInterval until ctx ends, and returns the first response
// that matches the query. Each query starts with the server after the
// one the previous query started with, the first query with the first
// server listed, as nginx rotates them. A truncated response is asked
// again over TCP from the same server. Responses that do not parse or do
// not answer the query are ignored, as nginx ignores them.
func (r *Resolver) query(ctx context.Context, name string, qtype uint16) (*message, error) {
	start := int(r.next.Add(1) - 1)
	for attempt := 0; ; attempt++ {
		if ctx.Err() != nil {
			return nil, errTimedOut
		}
		server := r.servers[(start+attempt)%len(r.servers)]
		actx, cancel := context.WithTimeout(ctx, resendInterval)
		m, err := r.udp(actx, server, name, qtype)
		if err == nil && m.truncated() {
			m, err = r.tcp(ctx, server, name, qtype)
		}
		if err == nil || errors.Is(err, errBadName) {
			cancel()
			return m, err
		}
		// No answer from this server: wait out its window (an ICMP
		// refusal must not make this loop spin), then try the next.
		<-actx.Done()
		cancel()
	}
}

// udp makes one UDP exchange with server, bounded by ctx.
func (r *Resolver) udp(ctx context.Context, server, name string, qtype uint16) (*message, error) {
	id := uint16(rand.Uint32())
	q, err := buildQuery(id, name, qtype)
	if err != nil {
		return nil, err
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, "udp", server)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		c.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Now()) })
	defer stop()
	if _, err := c.Write(q); err != nil {
		return nil, err
	}
	buf := make([]byte, 4096)
	for {
		n, err := c.Read(buf)
		if err != nil {
			return nil, err
		}
		m, perr := parseMessage(buf[:n])
		if perr == nil && m.matches(id, name, qtype) {
			return m, nil
		}
	}
}

// tcp makes one exchange over TCP (RFC 1035 §4.2.2 framing), bounded by
// ctx.
func (r *Resolver) tcp(ctx context.Context, server, name string, qtype uint16) (*message, error) {
	id := uint16(rand.Uint32())
	q, err := buildQuery(id, name, qtype)
	if err != nil {
		return nil, err
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", server)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		c.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Now()) })
	defer stop()
	framed := binary.BigEndian.AppendUint16(nil, uint16(len(q)))
	if _, err := c.Write(append(framed, q...)); err != nil {
		return nil, err
	}
	var hdr [2]byte
	if _, err := io.ReadFull(c, hdr[:]); err != nil {
		return nil, err
	}
	buf := make([]byte, binary.BigEndian.Uint16(hdr[:]))
	if _, err := io.ReadFull(c, buf); err != nil {
		return nil, err
	}
	m, err := parseMessage(buf)
	if err != nil {
		return nil, err
	}
	if !m.matches(id, name, qtype) {
		return nil, errNotAnswer
	}
	return m, nil
}
