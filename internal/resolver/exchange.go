package resolver

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"time"
)

// resendInterval is how long one server is given before the query is sent
// to the next one (nginx's resolver resends every 5 seconds, rotating the
// servers), within the lookup's timeout.
var resendInterval = 5 * time.Second

// errTimedOut is a lookup that got no usable answer in time.
var errTimedOut = errors.New("dns: operation timed out")

// exchange sends the query for (name, qtype) over UDP, rotating the
// servers every resendInterval until ctx ends, and returns the first
// response that matches the query. A truncated response is asked again
// over TCP from the same server. Responses that do not parse or do not
// answer the query are ignored, as nginx ignores them.
func (r *Resolver) exchange(ctx context.Context, name string, qtype uint16) (*message, error) {
	start := int(r.next.Add(1))
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
