package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// protocol is the client side of one mail protocol. Every method works on
// a session whose deadline covers it, and returns an error for any reply
// but the expected one.
type protocol interface {
	// greet reads the server's greeting.
	greet(s *session) error
	// login authenticates as user with pass.
	login(s *session, user, pass string) error
	// noop sends the protocol's no-op command.
	noop(s *session) error
	// transfer moves one message (IMAP: SELECT INBOX and FETCH, POP3:
	// RETR, SMTP: MAIL, RCPT, DATA), checks it against cfg, and returns
	// its size in bytes.
	transfer(s *session, cfg config) (int64, error)
	// quit ends the session politely (LOGOUT, QUIT) and reads the answer.
	quit(s *session) error
}

// protocols maps -proto to its client.
var protocols = map[string]protocol{"imap": imapClient{}, "pop3": pop3Client{}, "smtp": smtpClient{}}

// countConn counts the bytes through a connection into st.
type countConn struct {
	net.Conn
	st *stats
}

func (c countConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.st.bytesIn.Add(int64(n))
	return n, err
}

func (c countConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.st.bytesOut.Add(int64(n))
	return n, err
}

// session is one client connection.
type session struct {
	c       net.Conn // the raw or TLS connection
	r       *bufio.Reader
	timeout time.Duration
	tag     int // IMAP: the last tag number used
}

// touch re-arms the session's deadline.
func (s *session) touch() { s.c.SetDeadline(time.Now().Add(s.timeout)) }

// clientTLS is the TLS configuration of -tls: no session cache, so every
// session is a full handshake.
var clientTLS = &tls.Config{InsecureSkipVerify: true}

// dialLogin connects (with a TLS handshake when cfg.tls), reads the
// greeting and logs in; on success it counts a login and, except in
// fetch mode, records its latency (dial to the login's OK).
func dialLogin(ctx context.Context, cfg config, st *stats) (*session, error) {
	t0 := time.Now()
	s, err := connect(ctx, cfg, st)
	if err != nil {
		return nil, err
	}
	if err := cfg.client.login(s, cfg.user, cfg.pass); err != nil {
		s.c.Close()
		return nil, fmt.Errorf("login: %w", err)
	}
	s.c.SetDeadline(time.Time{})
	st.logins.Add(1)
	if cfg.mode != "fetch" { // fetch samples the transfer instead
		st.sample(time.Since(t0))
	}
	return s, nil
}

// connect dials (with a TLS handshake when cfg.tls) and reads the
// greeting; the session's deadline is armed.
func connect(ctx context.Context, cfg config, st *stats) (*session, error) {
	raw, err := dial(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("dial: %w", err)
	}
	var c net.Conn = countConn{raw, st}
	if cfg.tls {
		tc := tls.Client(c, clientTLS)
		tc.SetDeadline(time.Now().Add(cfg.timeout))
		if err := tc.Handshake(); err != nil {
			raw.Close()
			return nil, fmt.Errorf("tls handshake: %w", err)
		}
		c = tc
	}
	s := &session{c: c, timeout: cfg.timeout}
	s.r = bufio.NewReader(c)
	s.touch()
	if err := cfg.client.greet(s); err != nil {
		c.Close()
		return nil, err
	}
	return s, nil
}

// dial connects to cfg.addr, from cfg.bind when set: one address, or
// each connection the next address of a prefix (127.1.0.0/16: as many
// clients as addresses).
func dial(ctx context.Context, cfg config) (net.Conn, error) {
	d := net.Dialer{Timeout: cfg.timeout}
	switch {
	case cfg.bindPrefix.IsValid():
		a := bindAddr(cfg.bindPrefix, cfg.bindCount, bindNext.Add(1)).As4()
		d.LocalAddr = &net.TCPAddr{IP: a[:]}
	case cfg.bind != "":
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(cfg.bind)}
	}
	return d.DialContext(ctx, "tcp", cfg.addr)
}

// bindNext numbers the connections made from a -bind prefix.
var bindNext atomic.Uint64

// bindAddr is the source address of connection n (1, 2, …) from prefix
// p (IPv4, masked): with count 0, the address whose host part is n
// modulo the prefix's size (host 0 when n wraps); with a count, the
// first count addresses after the prefix's own in turn (host 1 to
// count), so that exactly count clients connect.
func bindAddr(p netip.Prefix, count int, n uint64) netip.Addr {
	a := p.Addr().As4()
	size := uint64(1) << (32 - p.Bits())
	host := n % size
	if count > 0 {
		host = 1 + (n-1)%uint64(count)
	}
	binary.BigEndian.PutUint32(a[:], binary.BigEndian.Uint32(a[:])|uint32(host))
	return netip.AddrFrom4(a)
}

// logout ends a session politely, ignoring what the server says, and
// closes it.
func (s *session) logout(cfg config) {
	s.touch()
	cfg.client.quit(s)
	s.c.Close()
}

// workers runs fn in cfg.concurrency goroutines until ctx ends (each call
// is one operation, started after a limiter token and given the time the
// token was due) and records the elapsed time.
func workers(ctx context.Context, cfg config, st *stats, fn func(ctx context.Context, due time.Time) error) {
	lim := newLimiter(cfg.rate)
	var wg sync.WaitGroup
	for range cfg.concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				due, ok := lim.wait(ctx)
				if !ok {
					return
				}
				if err := fn(ctx, due); err != nil {
					if ctx.Err() != nil {
						return // cut by the end of the run
					}
					st.fail(err)
					continue
				}
				st.ok.Add(1)
			}
		}()
	}
	wg.Wait()
	st.elapsed = time.Since(st.start)
}
