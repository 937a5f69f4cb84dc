package proxy

import (
	"context"
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
	req.KeepHeaders = cc.site.limits != nil && cc.site.limits.headers
	for {
		start := time.Now()
		resp, err := cc.site.auth.Do(ctx, req)
		cc.srv.observer().AuthRequest(cc.site.proto.Name(), authResult(resp, err), time.Since(start))
		if err != nil {
			cc.log.Error("auth http server "+cc.site.auth.Addr()+" failed", "err", err, "login", req.User)
			return nil, err
		}
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
