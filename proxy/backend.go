package proxy

import (
	stdtls "crypto/tls"
	"errors"
	"net"
	"time"

	"mailproxy/authhttp"
	"mailproxy/internal/backend"
	"mailproxy/internal/session"
	"mailproxy/internal/upstream"
	mailtls "mailproxy/tls"
)

// errNoOtherBackend ends a failover the auth service answered with
// anything but another backend.
var errNoOtherBackend = errors.New("the auth service named no other backend")

// loginBackend logs in to the backend the auth service named for l (SPEC
// §2.3) and returns the login that succeeded and the backend's reply to
// relay. When a backend cannot be used — not reached, TLS failed, no
// greeting, the dialogue broke off — and proxy_next_upstream_tries
// allows another try, the auth service is asked again with
// Auth-Failed-Server (failover); the client sees one login. A backend
// that refused the credentials is final. On failure the client gets the
// internal error or, with proxy_pass_error_message, the backend's own
// refusal.
func (cc *clientConn) loginBackend(l *session.Login) (*session.Login, []byte, error) {
	tries := max(cc.site.cfg.Upstreams.ProxyNextUpstreamTries, 1)
	for try := 1; ; try++ {
		relay, err := cc.tryBackend(l)
		if err == nil {
			return l, relay, nil
		}
		cc.closeBackend()
		reason, again := failoverReason(err)
		if again && try < tries && cc.authReq != nil {
			next, ferr := cc.failover(l, reason)
			if ferr == nil {
				l = next
				continue
			}
		}
		cc.failClient(err)
		return l, nil, err
	}
}

// failClient sends the client the reply to a failed backend login.
func (cc *clientConn) failClient(err error) {
	var be *session.BackendError
	if errors.As(err, &be) && be.Reply != nil && cc.site.cfg.ProxyPassErrorMessage {
		cc.writeClient(be.Reply)
		return
	}
	cc.writeClient(cc.site.proto.Replies().InternalError)
}

// failoverReason names a backend failure for Auth-Failed-Reason and
// tells whether another backend may be tried: not after the backend
// refused the credentials (or they could not be sent at all).
func failoverReason(err error) (reason string, again bool) {
	var de *upstream.DialError
	var te *upstream.TLSError
	var be *session.BackendError
	var ne net.Error
	switch {
	case errors.As(err, &de):
		return "connect", true
	case errors.As(err, &te), errors.Is(err, session.ErrNoStartTLS):
		return "tls", true
	case errors.Is(err, backend.ErrUnsafeArgument):
		return "", false
	case errors.As(err, &ne) && ne.Timeout():
		return "timeout", true
	case errors.As(err, &be) && be.Reply != nil && !be.Greeting:
		return "", false
	}
	return "login", true
}

// failover asks the auth service for another backend than l's, telling
// it why l's failed. The new login keeps l's hand-over and pipelined
// bytes.
func (cc *clientConn) failover(l *session.Login, reason string) (*session.Login, error) {
	prev := cc.authReq
	if cc.site.cache != nil {
		cc.site.cache.Forget(prev) // its backend failed
	}
	req := *prev
	req.LoginAttempt++
	req.FailedServer, req.FailedReason = l.Upstream, reason
	resp, err := cc.authenticate(cc.ctx, &req)
	if err != nil {
		return nil, err
	}
	if resp.Status != authhttp.StatusOK {
		cc.log.Error("failover: "+errNoOtherBackend.Error(), "failed", l.Upstream, "status", resp.Text, "login", l.User)
		return nil, errNoOtherBackend
	}
	next := session.NewLogin(resp, req.User, req.Pass)
	next.Handover, next.Pipelined = l.Handover, l.Pipelined
	cc.log.Info("failover to another backend", "failed", l.Upstream, "reason", reason, "upstream", next.Upstream, "login", next.User)
	cc.user, cc.upstream = next.User, next.Upstream
	return next, nil
}

// tryBackend makes one backend login for l, all under one `timeout`:
// dial (resolving a host name), the PROXY header, TLS (implicit, or
// through the protocol's STARTTLS with proxy_ssl starttls), then the
// protocol's login dialogue. It logs and counts a failure but sends the
// client nothing.
func (cc *clientConn) tryBackend(l *session.Login) ([]byte, error) {
	cfg := cc.site.cfg
	proto := cc.site.proto.Name()
	deadline := time.Now().Add(cfg.Timeout)
	c, addr, err := cc.site.dialer.Dial(cc.ctx, l.Backend, l.Host, l.Port, deadline)
	if err != nil {
		cc.log.Error("connecting to upstream failed", "upstream", l.Upstream, "err", err)
		cc.srv.observer().BackendFailure(proto, "connect")
		return nil, err
	}
	cc.mu.Lock()
	cc.backend, cc.backendTCP, cc.backendTLS = c, c, nil
	cc.mu.Unlock()
	if hdr := cc.proxyHeader(); hdr != nil {
		c.SetWriteDeadline(deadline)
		if _, err := c.Write(hdr); err != nil {
			cc.log.Error("could not send PROXY protocol header", "err", err)
			return nil, &upstream.DialError{Upstream: l.Upstream, Err: err}
		}
	}
	var conn net.Conn = c
	upgrade := func(plain net.Conn) (net.Conn, error) {
		tc, err := cc.backendHandshake(plain, l, addr.Addr().String(), deadline)
		if err != nil {
			return nil, err
		}
		return tc, nil
	}
	mode := l.SSLBackend
	if mode == "" {
		mode = cfg.Upstreams.ProxySSL
	}
	l.StartTLS = nil
	switch mode {
	case "on":
		if conn, err = upgrade(c); err != nil {
			cc.backendFailed(l, "tls", err)
			return nil, err
		}
	case "starttls":
		l.StartTLS = upgrade
	}
	relay, err := l.Handover.LoginBackend(conn, l, cfg.ProxyBuffer, deadline)
	if err != nil {
		var te *upstream.TLSError
		if errors.As(err, &te) || errors.Is(err, session.ErrNoStartTLS) {
			cc.backendFailed(l, "tls", err)
			return nil, err
		}
		cc.srv.observer().BackendFailure(proto, "login")
		var be *session.BackendError
		var ne net.Error
		switch {
		case errors.As(err, &be) && be.Reply != nil && cfg.ProxyPassErrorMessage:
			cc.log.Info("upstream sent invalid response", "text", be.Text, "upstream", l.Upstream, "login", l.User)
		case errors.As(err, &ne) && ne.Timeout():
			cc.log.Info("upstream timed out", "upstream", l.Upstream, "login", l.User)
		case errors.As(err, &be) && be.Reply != nil:
			cc.log.Error("upstream sent invalid response", "text", be.Text, "upstream", l.Upstream, "login", l.User)
		default:
			cc.log.Error("upstream login failed", "err", errText(err), "upstream", l.Upstream, "login", l.User)
		}
		return nil, err
	}
	return relay, nil
}

// backendFailed logs and counts a failure of TLS to the backend: the
// password was not sent.
func (cc *clientConn) backendFailed(l *session.Login, stage string, err error) {
	cc.log.Error("upstream TLS failed; nothing of the login was sent", "err", errText(err), "upstream", l.Upstream, "login", l.User)
	cc.srv.observer().BackendFailure(cc.site.proto.Name(), stage)
}

// backendHandshake upgrades plain, the connection to l's backend at
// addr, to TLS with the proxy_ssl_* settings, by deadline. The name
// checked is Auth-SSL-Backend-Name, else proxy_ssl_name, else the
// backend's host name or address; it is sent as SNI with
// proxy_ssl_server_name.
func (cc *clientConn) backendHandshake(plain net.Conn, l *session.Login, addr string, deadline time.Time) (*stdtls.Conn, error) {
	u := cc.site.cfg.Upstreams
	name := upstream.ServerName(l.SSLBackendName, u.ProxySSLName, l.Host, addr)
	sni := ""
	if u.ProxySSLServerName {
		sni = name
	}
	tc, err := upstream.Handshake(plain, cc.site.backendTLS.For(name, sni), deadline)
	o := cc.srv.upstreamObserver()
	if err != nil {
		if o != nil {
			o.BackendTLS(cc.site.proto.Name(), "failed")
		}
		return nil, err
	}
	st := tc.ConnectionState()
	cc.mu.Lock()
	cc.backend, cc.backendTLS = tc, &st
	cc.mu.Unlock()
	if o != nil {
		o.BackendTLS(cc.site.proto.Name(), mailtls.VersionName(st.Version))
	}
	cc.log.Debug("upstream TLS established", "upstream", l.Upstream, "version", mailtls.VersionName(st.Version), "resumed", st.DidResume)
	return tc, nil
}
