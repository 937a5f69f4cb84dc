// Package proxy is mailproxy's engine: it owns the listeners, the accept
// loop, each connection's pipeline (PROXY header, TLS, the protocol's
// pre-auth dialogue, the auth request, the backend login) and the splice,
// and it logs one summary line per session. It never parses a protocol
// line itself: the imap package does.
package proxy

import (
	stdtls "crypto/tls"
	"errors"
	"log/slog"
	"net/netip"

	"mailproxy/authhttp"
	"mailproxy/config"
	"mailproxy/internal/session"
	"mailproxy/internal/upstream"
	mailtls "mailproxy/tls"
)

// site is the runtime form of one server entry, built once per
// configuration load and shared by every connection it accepts.
type site struct {
	cfg  *config.Server
	auth *authhttp.Endpoints // one client per auth_http URL
	// cache keeps auth answers (auth_http_cache); nil when off. A new
	// configuration (a reload) starts with an empty one.
	cache *authhttp.Cache
	// dialer connects to backends, resolving host names with proxy_resolve.
	dialer *upstream.Dialer
	// backendTLS are the proxy_ssl_* settings, for every server: an auth
	// answer may ask for TLS (Auth-SSL-Backend) where proxy_ssl is off.
	backendTLS *mailtls.ClientTLS
	tls        *stdtls.Config // nil when the server needs no TLS
	// clientAuth checks client certificates; nil for ssl_verify_client off.
	clientAuth *mailtls.ClientAuth
	proto      session.Protocol
	realIP     []netip.Prefix
	limits     *limitConn // limit_conn; nil for none
	refused    refusals   // the auth service's last failure answers (login_throttle)

	gen *generation  // the configuration it belongs to
	log *slog.Logger // its sessions' logger; nil: the server's
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
	if s.auth, err = newAuth(cfg, headers); err != nil {
		return nil, err
	}
	s.dialer, s.cache = newUpstreams(cfg)
	if s.backendTLS = cfg.Upstreams.BackendTLS; s.backendTLS == nil {
		// A configuration built without config.Parse: Go's defaults,
		// nothing verified.
		if s.backendTLS, err = new(mailtls.Loader).ClientTLS(mailtls.ClientSettings{SessionReuse: true}); err != nil {
			return nil, err
		}
	}
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
