package proxy

import (
	"context"
	"fmt"
	"mailproxy/authhttp"
	"mailproxy/config"
	"mailproxy/internal/evloop"
	"mailproxy/internal/resolver"
	"mailproxy/internal/upstream"
	"net"
)

// UpstreamObserver is an Observer that also receives the events of the
// upstream layer (auth endpoints, the auth cache, TLS to backends). The
// server sends them when its Observer implements it.
type UpstreamObserver interface {
	// AuthEndpoint: one auth_http URL of a list was asked; result is
	// "ok", "error" or "5xx"; healthy tells whether it is used (not
	// skipped) from now on. endpoint is the URL without its query.
	AuthEndpoint(endpoint, result string, healthy bool)
	// AuthCache: a login was looked up in auth_http_cache.
	AuthCache(protocol string, hit bool)
	// BackendTLS: a TLS handshake with a backend ended; version is
	// OpenSSL's name ("TLSv1.3") or "failed".
	BackendTLS(protocol, version string)
}

// upstreamObserver returns the server's Observer as an UpstreamObserver,
// or nil when it is not one.
func (s *Server) upstreamObserver() UpstreamObserver {
	if o, ok := s.observer().(UpstreamObserver); ok {
		return o
	}
	return nil
}

// newAuth builds the auth clients of a server: one per auth_http URL
// (host names resolved now), each with keep-alive and, for https://, the
// auth_http_ssl_* settings.
func newAuth(cfg *config.Server, headers []authhttp.Header) (*authhttp.Endpoints, error) {
	urls := cfg.Upstreams.AuthHTTPURLs
	if len(urls) == 0 {
		urls = []authhttp.URL{cfg.AuthHTTP}
	}
	var clients []*authhttp.Client
	for _, u := range urls {
		c, err := authhttp.NewClient(u, cfg.AuthHTTPTimeout, headers)
		if err != nil {
			return nil, fmt.Errorf("auth_http: %w", err)
		}
		c.SetKeepAlive(authhttp.KeepAlive{MaxIdle: cfg.AuthHTTPKeepalive, IdleTimeout: cfg.AuthHTTPKeepaliveTimeout})
		c.Dial, c.Reuse = dialAuth, reuseAuth
		if u.HTTPS() && cfg.Upstreams.AuthTLS != nil {
			c.SetTLS(cfg.Upstreams.AuthTLS.Standard())
		}
		clients = append(clients, c)
	}
	return authhttp.NewEndpoints(clients, cfg.Upstreams.AuthHTTPFailTimeout), nil
}

// newUpstreams builds a server's backend dialer and its auth cache (nil
// when auth_http_cache is off).
func newUpstreams(cfg *config.Server) (*upstream.Dialer, *authhttp.Cache) {
	u := cfg.Upstreams
	d := &upstream.Dialer{Valid: u.ResolverValid}
	if u.ProxyResolve {
		d.Lookup = upstream.SystemLookup
		if len(cfg.Resolver) > 0 {
			r := resolver.New(cfg.Resolver, cfg.ResolverIPv4, cfg.ResolverIPv6, cfg.ResolverTimeout)
			d.Lookup = r.LookupHost
		}
	}
	var cache *authhttp.Cache
	if u.AuthHTTPCache {
		cache = authhttp.NewCache(authhttp.CacheOptions{
			MaxEntries: u.AuthHTTPCacheSize,
			OK:         u.AuthHTTPCacheValid,
			Fail:       u.AuthHTTPCacheFailValid,
			ClientIP:   u.AuthHTTPCacheClientIP,
		})
	}
	return d, cache
}

// watch reports the auth endpoints' results of sites to the server's
// Observer.
func (s *Server) watch(sites []*site) {
	for _, st := range sites {
		st.auth.OnResult = func(endpoint, result string, healthy bool) {
			if !healthy {
				s.Logger().Warn("auth endpoint failed; skipped for auth_http_fail_timeout", "endpoint", endpoint, "result", result)
			}
			if o := s.upstreamObserver(); o != nil {
				o.AuthEndpoint(endpoint, result, healthy)
			}
		}
	}
}

// dialAuth opens a connection to the auth service: on the session's event
// loop when the session runs on one.
func dialAuth(ctx context.Context, network, address string) (net.Conn, error) {
	return evloop.Dial(ctx, &net.Dialer{KeepAlive: -1}, network, address) // as nginx: no keep-alive probes
}

// reuseAuth lets a session use a kept auth connection made on its own
// event loop (it adopts it), or one in Go's poller when the session runs
// on a goroutine; any other is closed.
func reuseAuth(ctx context.Context, conn net.Conn) bool {
	t := evloop.FromContext(ctx)
	lc, onLoop := conn.(*evloop.Conn)
	switch {
	case t == nil:
		return !onLoop
	case onLoop && lc.Loop() == t.Loop():
		lc.Adopt(ctx)
		return true
	}
	return false
}
