package proxy

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"strconv"
	"time"

	"mailproxy/authhttp"
	"mailproxy/internal/session"
)

// minWaitRetry is the pause before repeating a request answered with
// Auth-Status: WAIT and no positive Auth-Wait. nginx repeats it at once,
// and forever (SPEC §10.5); a pause keeps a broken auth service from being
// flooded.
const minWaitRetry = time.Second

// authenticate completes req with the connection facts and asks the auth
// service, repeating the same request on WAIT (SPEC §10.5). It is the
// front ends' session.Conn.Authenticate.
func (cc *clientConn) authenticate(ctx context.Context, req *authhttp.Request) (*authhttp.Response, error) {
	req.ClientIP = cc.client.Addr().String()
	req.Proxy = cc.pp
	req.SSL = cc.sslInfo()
	if cc.site.cfg.AuthHTTPPassClientDetails {
		req.ClientPort = strconv.Itoa(int(cc.client.Port()))
		req.ServerAddr = cc.connected.Addr().String()
		req.ServerPort = strconv.Itoa(int(cc.connected.Port()))
	}
	req.ServerNames = cc.site.cfg.Upstreams.ProxyResolve
	req.KeepHeaders = cc.site.limits != nil && cc.site.limits.headers
	cc.authReq = req // for a failover request, should the backend fail
	if resp, err := cc.throttleCheck(ctx, req); resp != nil || err != nil {
		return resp, err // login_throttle: the auth service is not asked
	}
	if resp := cc.cached(req); resp != nil {
		cc.throttleAfter(ctx, req, resp)
		if resp.Status == authhttp.StatusOK {
			if err := cc.limitAtLogin(req, resp); err != nil {
				return nil, err
			}
		}
		return resp, nil
	}
	for {
		start := time.Now()
		resp, addr, err := cc.site.auth.Do(ctx, req)
		cc.srv.observer().AuthRequest(cc.site.proto.Name(), authResult(resp, err), time.Since(start))
		if err != nil {
			cc.log.Error("auth http server "+addr+" failed", "err", err, "login", req.User)
			return nil, err
		}
		if cc.site.cache != nil {
			cc.site.cache.Put(req, resp)
		}
		cc.throttleAfter(ctx, req, resp)
		if resp.Status == authhttp.StatusOK {
			// limit_conn, checked once the auth service accepted (freenginx).
			if err := cc.limitAtLogin(req, resp); err != nil {
				return nil, err
			}
		}
		if resp.Status != authhttp.StatusWait {
			return resp, nil
		}
		wait := resp.Wait
		if wait <= 0 {
			wait = minWaitRetry
		}
		// The delay ends early if the client hangs up (session.Hold).
		if err := session.Hold(ctx, cc.tcp, wait); err != nil {
			return nil, err
		}
	}
}

// authResult names the outcome of one auth request for metrics.
func authResult(resp *authhttp.Response, err error) string {
	switch {
	case err != nil:
		return "error"
	case resp.Status == authhttp.StatusOK:
		return "ok"
	case resp.Status == authhttp.StatusWait:
		return "wait"
	}
	return "fail"
}

// newSessionID returns a random session name of 16 base64 characters,
// the shape of Dovecot's own session IDs.
func newSessionID() string {
	var b [12]byte
	rand.Read(b[:])
	return base64.RawStdEncoding.EncodeToString(b[:])
}

// cached returns the answer auth_http_cache keeps for req, or nil; a
// lookup of a request the cache may serve is counted as a hit or a miss.
func (cc *clientConn) cached(req *authhttp.Request) *authhttp.Response {
	c := cc.site.cache
	if c == nil || !authhttp.Cacheable(req) {
		return nil
	}
	resp := c.Get(req)
	if o := cc.srv.upstreamObserver(); o != nil {
		o.AuthCache(cc.site.proto.Name(), resp != nil)
	}
	if resp != nil {
		cc.log.Debug("auth answer from the cache", "login", req.User)
	}
	return resp
}
