package proxy

import (
	"context"
	stdtls "crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"runtime/debug"
	"strconv"
	"sync"
	"time"

	"mailproxy/authhttp"
	"mailproxy/internal/evloop"
	"mailproxy/internal/logging"
	"mailproxy/internal/outcome"
	"mailproxy/internal/proxyproto"
	"mailproxy/internal/session"
	"mailproxy/internal/throttle"
	mailtls "mailproxy/tls"
)

// clientConn is one client connection from accept to close. It owns both
// sockets and closes them.
type clientConn struct {
	srv  *Server
	l    *listener
	site *site
	tcp  evloop.Socket // *net.TCPConn, or *evloop.Conn on an event loop
	log  *slog.Logger
	id   uint64 // the session's number in the log (logging.Conn)

	start  time.Time
	ctx    context.Context
	cancel context.CancelFunc

	client netip.AddrPort // after realip
	local  netip.AddrPort // our side of the client connection
	// connected is the address the client connected to: a trusted PROXY
	// header's destination, else local.
	connected netip.AddrPort
	// sessionID names the session to the backend (proxy_forward) and in
	// the summary line; "" when proxy_forward is off.
	sessionID string
	pp        *authhttp.ProxyInfo
	conn      net.Conn // tcp, or the TLS connection over it
	tlsState  *stdtls.ConnectionState
	starttls  bool
	cert      mailtls.Result // client certificate check of the last handshake

	mu      sync.Mutex
	backend net.Conn // backendTCP, or the TLS connection over it
	relay   parked   // set once the session is parked in a relay

	backendTCP evloop.Socket
	backendTLS *stdtls.ConnectionState // nil: plaintext to the backend
	// authReq is the last auth request, kept until the backend login is
	// done for failover requests (proxy_next_upstream_tries).
	authReq *authhttp.Request

	units int         // descriptors the gate reserves for the session
	held  []heldCount // limit_conn counts, released by finish

	// summary facts
	user, upstream string
	toBackend      int64
	toClient       int64
	outcome        outcome.End
	loginCounted   bool // limit_conn counted this login (limitAtLogin)
	// throttled: login_throttle refused the last login (throttle.go).
	throttled throttle.Rule
}

func newClientConn(s *Server, l *listener, c evloop.Socket) *clientConn {
	cc := &clientConn{srv: s, l: l, site: l.site, tcp: c, conn: c, start: time.Now(), id: s.connID.Add(1), units: sessionFDs}
	cc.ctx, cc.cancel = context.WithCancel(s.base)
	cc.client = addrPort(c.RemoteAddr())
	cc.local = addrPort(c.LocalAddr())
	cc.connected = cc.local
	if l.site.cfg.ProxyForward != "" {
		cc.sessionID = newSessionID()
	}
	cc.setLogger()
	return cc
}

// setLogger names the session's number, client (after a trusted PROXY
// header, the real one), server and protocol in every line it logs, once
// each, on its server's logger.
func (cc *clientConn) setLogger() {
	log := cc.site.log
	if log == nil {
		log = cc.srv.Logger()
	}
	cc.log = log.With(logging.Conn(cc.id), "client", cc.client.String(), "server", cc.l.addr, "protocol", cc.l.site.proto.Name())
}

func addrPort(a net.Addr) netip.AddrPort {
	if t, ok := a.(*net.TCPAddr); ok {
		ap := t.AddrPort()
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	}
	return netip.AddrPort{}
}

// abort closes both sockets at once (server Close).
func (cc *clientConn) abort() {
	cc.cancel()
	cc.mu.Lock()
	r := cc.relay
	cc.mu.Unlock()
	if r != nil {
		// Ended before its sockets close, so that a pump seeing the
		// closed socket cannot report it as a client or backend error.
		r.shutdown()
	}
	cc.tcp.Close()
	cc.mu.Lock()
	if cc.backend != nil {
		cc.backend.Close()
	}
	if cc.backendTCP != nil {
		cc.backendTCP.Close()
	}
	cc.mu.Unlock()
}

// serve runs the pipeline of SPEC §2.1; unless the session was parked in
// the poller (which then ends it), it ends the session with finish.
func (cc *clientConn) serve() {
	parked := false
	defer func() {
		if v := recover(); v != nil {
			cc.outcome = cc.panicked(v)
		}
		if !parked {
			cc.finish()
		}
	}()
	cc.log.Debug("client connected")
	var end outcome.End
	if end, parked = cc.run(); !parked {
		cc.outcome = end
	}
}

// panicked logs a panic recovered in the session's code (v) with its
// stack and returns the session's outcome. Call it from the deferred
// function that recovered.
func (cc *clientConn) panicked(v any) outcome.End {
	cc.log.Error("panic in session", "panic", v, "stack", string(debug.Stack()))
	return outcome.Panic.With(fmt.Errorf("%v", v))
}

// finish closes both sockets, logs the summary line and releases the
// session from the server. It runs exactly once per session.
func (cc *clientConn) finish() {
	cc.cancel()
	cc.closeAll()
	cc.releaseCounts()
	cc.srv.gate.ended(cc.units)
	cc.summary()
	cc.srv.track(cc, false)
	cc.srv.wg.Done()
}

func (cc *clientConn) closeAll() {
	if cc.tlsState != nil {
		cc.conn.SetWriteDeadline(time.Now().Add(time.Second))
	}
	cc.conn.Close()
	cc.tcp.Close()
	cc.closeBackend()
}

// closeBackend closes the backend connection, TLS (with a bounded
// close_notify) and TCP.
func (cc *clientConn) closeBackend() {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if cc.backend != nil {
		if cc.backendTLS != nil {
			cc.backend.SetWriteDeadline(time.Now().Add(time.Second))
		}
		cc.backend.Close()
	}
	if cc.backendTCP != nil {
		cc.backendTCP.Close()
	}
}

// run returns the session's outcome for the summary line and the
// metrics, or parked when the session now waits in the server's poller,
// which will end it.
func (cc *clientConn) run() (end outcome.End, parked bool) {
	if end := cc.open(); end.Ended() {
		return end, false
	}
	return cc.splice()
}

// open takes the session from accept to a logged-in backend whose reply
// the client has: it returns the zero End (None) then, or the outcome of
// a session that ends before splicing.
func (cc *clientConn) open() outcome.End {
	cfg := cc.site.cfg
	if cc.l.cfg.ProxyProtocol {
		h, err := proxyproto.Read(cc.tcp, time.Now().Add(cfg.Timeout))
		if err != nil {
			cc.log.Error("reading PROXY protocol failed", "err", err)
			return outcome.BadProxyHeader.With(err)
		}
		if h.HasAddrs {
			cc.pp = &authhttp.ProxyInfo{
				SrcAddr: h.SrcAddr, SrcPort: strconv.Itoa(int(h.SrcPort)),
				DstAddr: h.DstAddr, DstPort: strconv.Itoa(int(h.DstPort)),
			}
			if src, ok := h.Src(); ok && cc.site.trusted(cc.client.Addr()) {
				cc.client = src
				if dst, ok := h.Dst(); ok {
					cc.connected = dst
				}
				cc.setLogger()
			}
		}
	}
	limited := cc.limitAtConnect()
	if cc.l.cfg.SSL {
		tc := mailtls.Server(cc.tcp, cc.site.tls)
		if err := mailtls.Handshake(tc, time.Now().Add(cfg.Timeout)); err != nil {
			cc.log.Info("TLS handshake failed", "err", err)
			cc.srv.observer().TLSHandshake(cc.site.proto.Name(), "failed")
			return outcome.TLSFailed.With(err)
		}
		cc.setTLS(tc)
		if limited == nil {
			if err := cc.checkClientCert(); err != nil {
				return preauthOutcome(err)
			}
		}
	}
	if limited != nil {
		// Instead of the greeting (after the TLS handshake on an ssl
		// listener, so that the client can read it).
		if errors.Is(limited, session.ErrLimited) {
			cc.writeClient(cc.site.proto.Replies().TooManyConnections)
		} else {
			cc.writeClient(cc.site.proto.Replies().InternalError)
		}
		return preauthOutcome(limited)
	}
	sc := &session.Conn{
		Conn:         cc.conn,
		TLS:          cc.tlsState != nil,
		Client:       cc.client,
		Local:        cc.connected,
		SessionID:    cc.sessionID,
		Timeout:      cfg.Timeout,
		Log:          cc.log,
		Authenticate: cc.authenticate,
	}
	sc.StartTLS = func(deadline time.Time) error {
		tc := mailtls.Server(cc.tcp, cc.site.tls)
		if err := mailtls.Handshake(tc, deadline); err != nil {
			cc.log.Info("STARTTLS handshake failed", "err", err)
			cc.srv.observer().TLSHandshake(cc.site.proto.Name(), "failed")
			return err
		}
		cc.setTLS(tc)
		cc.starttls = true
		sc.Conn, sc.TLS = tc, true
		return cc.checkClientCert()
	}
	login, err := cc.site.proto.Serve(cc.ctx, sc)
	if err != nil {
		return cc.preauthEnd(err)
	}
	cc.user, cc.upstream = login.User, login.Upstream
	login, relay, err := cc.loginBackend(login)
	cc.authReq = nil
	if err != nil {
		return outcome.BackendFailed.With(err)
	}
	// The auth request is over: the session needs two descriptors now.
	cc.srv.gate.spliced()
	cc.units = splicedFDs
	cc.log.Debug("client logged in", "login", cc.user, "upstream", cc.upstream) // the summary line says it at info
	cc.conn.SetDeadline(time.Time{})
	if err := writeAll(cc.conn, relay); err != nil {
		return outcome.ClientWriteFailed.With(err)
	}
	cc.toClient += int64(len(relay))
	if len(login.Pipelined) > 0 {
		if err := writeAll(cc.backend, login.Pipelined); err != nil {
			return outcome.BackendWriteFailed.With(err)
		}
		cc.toBackend += int64(len(login.Pipelined))
	}
	return outcome.End{}
}

func (cc *clientConn) setTLS(tc *stdtls.Conn) {
	st := tc.ConnectionState()
	cc.conn, cc.tlsState = tc, &st
	cc.srv.observer().TLSHandshake(cc.site.proto.Name(), mailtls.VersionName(st.Version))
}

// preauthOutcome names the end of a session that err ended before login.
func preauthOutcome(err error) outcome.End {
	var ne net.Error
	var te *authhttp.TransportError
	switch {
	case errors.Is(err, session.ErrLimited):
		return outcome.Limited.With(err)
	case errors.Is(err, session.ErrClosed):
		return outcome.ClosedBeforeLogin.With(err)
	case errors.Is(err, errCertRefused):
		return outcome.ClientCertRefused.With(err)
	case errors.As(err, &te):
		// The auth service failed: its timeout is not the client's.
		return outcome.EndedBeforeLogin.With(te)
	case errors.As(err, &ne) && ne.Timeout():
		return outcome.Timeout.With(err)
	}
	return outcome.EndedBeforeLogin.With(err)
}

func errText(err error) string {
	var be *session.BackendError
	if errors.As(err, &be) {
		return be.Error()
	}
	return err.Error()
}

// writeClient sends a final reply, bounded by `timeout`.
func (cc *clientConn) writeClient(b []byte) {
	cc.conn.SetWriteDeadline(time.Now().Add(cc.site.cfg.Timeout))
	writeAll(cc.conn, b)
}

func writeAll(c net.Conn, b []byte) error {
	for len(b) > 0 {
		n, err := c.Write(b)
		if err != nil {
			return err
		}
		b = b[n:]
	}
	return nil
}

// summary logs the one line per session: client, user, backend, bytes
// each way, duration and outcome. Never a password.
func (cc *clientConn) summary() {
	attrs := []any{
		"login", cc.user,
		"upstream", cc.upstream,
		"bytes_to_backend", cc.toBackend,
		"bytes_to_client", cc.toClient,
		"duration", time.Since(cc.start).Round(time.Millisecond).String(),
		"outcome", cc.outcome.String(),
	}
	if cc.tlsState != nil {
		attrs = append(attrs, "tls", mailtls.VersionName(cc.tlsState.Version), "starttls", cc.starttls)
	}
	if cc.sessionID != "" {
		attrs = append(attrs, "session", cc.sessionID)
	}
	if cc.backendTLS != nil {
		attrs = append(attrs, "upstream_tls", mailtls.VersionName(cc.backendTLS.Version))
	}
	cc.log.Info("session done", attrs...)
	cc.srv.observer().SessionEnded(cc.site.proto.Name(), cc.outcome.Outcome, cc.toBackend, cc.toClient, time.Since(cc.start))
}
