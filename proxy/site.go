// Package proxy is mailproxy's engine: it owns the listeners, the accept
// loop, each connection's pipeline (PROXY header, TLS, the protocol's
// pre-auth dialogue, the auth request, the backend login) and the splice,
// and it logs one summary line per session. It never parses a protocol
// line itself: the imap package does.
package proxy

import (
	stdtls "crypto/tls"
	"errors"
	"fmt"
	"net/netip"

	"mailproxy/authhttp"
	"mailproxy/config"
	"mailproxy/internal/session"
	mailtls "mailproxy/tls"
)

// site is the runtime form of one server entry, built once per
// configuration load and shared by every connection it accepts.
type site struct {
	cfg  *config.Server
	auth *authhttp.Client
	tls  *stdtls.Config // nil when the server needs no TLS
	// clientAuth checks client certificates; nil for ssl_verify_client off.
	clientAuth *mailtls.ClientAuth
	proto      session.Protocol
	realIP     []netip.Prefix
	limits     *limitConn // limit_conn; nil for none
}

// newSite builds the runtime state of the server entry cfg; zones are the
// configuration's limit_conn zones by name.
func newSite(cfg *config.Server, zones map[string]config.LimitConnZone) (*site, error) {
	s := &site{cfg: cfg, realIP: cfg.SetRealIPFrom, limits: newLimitConn(cfg, zones)}
	headers := make([]authhttp.Header, len(cfg.AuthHTTPHeader))
	for i, h := range cfg.AuthHTTPHeader {
		headers[i] = authhttp.Header{Name: h.Name, Value: h.Value}
	}
	var err error
	if s.auth, err = authhttp.NewClient(cfg.AuthHTTP, cfg.AuthHTTPTimeout, headers); err != nil {
		return nil, fmt.Errorf("auth_http: %w", err)
	}
	s.auth.SetKeepAlive(authhttp.KeepAlive{MaxIdle: cfg.AuthHTTPKeepalive, IdleTimeout: cfg.AuthHTTPKeepaliveTimeout})
	if cfg.NeedsTLS() {
		// Built by config.Parse, which read every file once.
		if cfg.TLS == nil {
			return nil, errors.New("the TLS settings were not loaded")
		}
		s.tls, s.clientAuth = cfg.TLS, cfg.ClientAuth
	}
	if s.proto, err = frontEnd(cfg); err != nil {
		return nil, err
	}
	return s, nil
}

// trusted reports whether peer may set the client address with a PROXY
// header (set_real_ip_from).
func (s *site) trusted(peer netip.Addr) bool {
	peer = peer.Unmap()
	for _, p := range s.realIP {
		if p.Contains(peer) {
			return true
		}
	}
	return false
}
