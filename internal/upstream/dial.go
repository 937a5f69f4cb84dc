// Package upstream is the backend side of a session between the engine's
// hand-over and the relay: it turns the backend an auth answer names
// (an address, or a host name with proxy_resolve) into a connection,
// trying every address of a name in order, and upgrades connections to
// TLS with the proxy_ssl_* settings. It knows nothing of protocols: the
// protocol's own hand-over asks for STARTTLS and calls the upgrade hook.
package upstream

import (
	"context"
	"errors"
	"fmt"
	"mailproxy/internal/evloop"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"time"
)

// Lookup resolves a host name to addresses and how long they may be
// kept (0: not at all).
type Lookup func(ctx context.Context, name string) ([]netip.Addr, time.Duration, error)

// Dialer connects to backends. Its zero value dials addresses only.
type Dialer struct {
	// Lookup resolves backend host names; nil refuses them.
	Lookup Lookup
	// Valid, when > 0, replaces the TTL of every answer (resolver's
	// valid=).
	Valid time.Duration

	cache nameCache
}

// SystemLookup resolves with the system's resolver, which gives no TTL:
// nothing is kept, every login asks (the system may cache).
func SystemLookup(ctx context.Context, name string) ([]netip.Addr, time.Duration, error) {
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", name)
	if err != nil {
		return nil, 0, err
	}
	for i := range addrs {
		addrs[i] = addrs[i].Unmap()
	}
	return addrs, 0, nil
}

// DialError is a backend that could not be connected to: its name
// could not be resolved, or no address accepted the connection.
type DialError struct {
	Upstream string // what the auth service named, NAME:PORT or ADDR:PORT
	Lookup   bool   // the host name did not resolve
	Err      error
}

func (e *DialError) Error() string {
	if e.Lookup {
		return "cannot resolve " + e.Upstream + ": " + e.Err.Error()
	}
	return e.Err.Error()
}

func (e *DialError) Unwrap() error { return e.Err }

// Dial connects to addr, or to host:port when host is not empty, by
// deadline: every address of the name in turn (as the resolver gave
// them) until one accepts. It returns the connection and the address
// connected to. Addresses are resolved once per TTL.
func (d *Dialer) Dial(ctx context.Context, addr netip.AddrPort, host string, port uint16, deadline time.Time) (evloop.Socket, netip.AddrPort, error) {
	addrs := []netip.AddrPort{addr}
	upstream := addr.String()
	if host != "" {
		upstream = net.JoinHostPort(host, strconv.Itoa(int(port)))
		ips, err := d.resolve(ctx, host, deadline)
		if err != nil {
			return nil, netip.AddrPort{}, &DialError{Upstream: upstream, Lookup: true, Err: err}
		}
		addrs = addrs[:0]
		for _, ip := range ips {
			addrs = append(addrs, netip.AddrPortFrom(ip, port))
		}
	}
	var errs []error
	for _, a := range addrs {
		nd := net.Dialer{Deadline: deadline, KeepAlive: -1} // as nginx: no keep-alive probes
		dctx, cancel := context.WithDeadline(ctx, deadline)
		c, err := evloop.Dial(dctx, &nd, "tcp", a.String())
		cancel()
		if err == nil {
			return c.(evloop.Socket), a, nil
		}
		errs = append(errs, err)
		if ctx.Err() != nil || !time.Now().Before(deadline) {
			break
		}
	}
	return nil, netip.AddrPort{}, &DialError{Upstream: upstream, Err: errors.Join(errs...)}
}

// resolve returns the addresses of host, from the cache while its TTL
// lasts.
func (d *Dialer) resolve(ctx context.Context, host string, deadline time.Time) ([]netip.Addr, error) {
	if d.Lookup == nil {
		return nil, errors.New("backend host names are not enabled (proxy_resolve)")
	}
	if addrs, ok := d.cache.get(host); ok {
		return addrs, nil
	}
	lctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	var addrs []netip.Addr
	var ttl time.Duration
	var err error
	evloop.Block(ctx, func() { addrs, ttl, err = d.Lookup(lctx, host) })
	if err != nil {
		return nil, err
	}
	if len(addrs) == 0 {
		return nil, fmt.Errorf("%q has no address", host)
	}
	if d.Valid > 0 {
		ttl = d.Valid
	}
	d.cache.put(host, addrs, ttl)
	return addrs, nil
}

// maxNames bounds the names a Dialer keeps.
const maxNames = 4096

// nameCache keeps resolved names until their TTL ends.
type nameCache struct {
	mu sync.Mutex
	m  map[string]cachedName
}

type cachedName struct {
	addrs   []netip.Addr
	expires time.Time
}

func (c *nameCache) get(host string) ([]netip.Addr, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[host]
	if !ok {
		return nil, false
	}
	if !time.Now().Before(e.expires) {
		delete(c.m, host)
		return nil, false
	}
	return e.addrs, true
}

func (c *nameCache) put(host string, addrs []netip.Addr, ttl time.Duration) {
	if ttl <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]cachedName{}
	}
	if len(c.m) >= maxNames {
		now := time.Now()
		for k, e := range c.m {
			if !now.Before(e.expires) || len(c.m) >= maxNames {
				delete(c.m, k)
			}
		}
	}
	c.m[host] = cachedName{addrs: addrs, expires: time.Now().Add(ttl)}
}
