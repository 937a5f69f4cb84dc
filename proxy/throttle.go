package proxy

import (
	"context"
	"errors"
	"fmt"
	"mailproxy/authhttp"
	"mailproxy/config"
	"mailproxy/internal/kvstore"
	"mailproxy/internal/outcome"
	"mailproxy/internal/session"
	"mailproxy/internal/throttle"
	"maps"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// ThrottleObserver is an Observer that also receives login_throttle's
// events. The server sends them when its Observer implements it.
type ThrottleObserver interface {
	// LoginThrottled: a login attempt was refused by login_throttle's
	// rule ("ip", "user" or "user_ip") without asking the auth service.
	LoginThrottled(protocol, rule string)
	// ThrottleStore: a call to login_throttle's store succeeded or
	// failed (timed out, refused, …); a failure is also an
	// Observer.StoreError "login_throttle".
	ThrottleStore(ok bool)
}

// throttleObserver returns the server's Observer as a ThrottleObserver,
// or nil when it is not one.
func (s *Server) throttleObserver() ThrottleObserver {
	if o, ok := s.observer().(ThrottleObserver); ok {
		return o
	}
	return nil
}

// defaultRefusal is the answer a throttled login replays on a server
// whose auth service has refused nothing yet: nginx's documented example
// of a failure (Auth-Status: Invalid login or password, Auth-Wait: 3).
var defaultRefusal = authhttp.Response{Status: authhttp.StatusFail, Text: "Invalid login or password", Wait: 3 * time.Second}

// errThrottleStore ends a login that fail_closed refuses because the
// store could not check it: the internal error, as for an auth service
// that cannot be reached.
var errThrottleStore = errors.New("login_throttle: the store could not check the login")

// throttleState is the server's login_throttle: the running limiter
// (nil: off) and the store's health, kept across reloads.
type throttleState struct {
	cur     atomic.Pointer[loginThrottle]
	mu      sync.Mutex // guards failing
	failing bool       // the last store call failed
}

// loginThrottle is one configuration's login_throttle.
type loginThrottle struct {
	store      string // the store URL, "" for memory
	lim        *throttle.Limiter
	failClosed bool
}

// prepareThrottle returns the login_throttle of cfg (nil when off): the
// running store is kept (memory counts and the pool) when cfg names the
// same one, with cfg's rules.
func (s *Server) prepareThrottle(cfg *config.Config) (*loginThrottle, error) {
	lt := cfg.LoginThrottle
	if lt == nil {
		return nil, nil
	}
	tc := throttle.Config{IPv6Prefix: lt.IPv6Prefix, Exempt: lt.Exempt}
	for _, r := range []struct {
		dst *throttle.Limit
		src *config.ThrottleRule
	}{{&tc.IP, lt.IP}, {&tc.User, lt.User}, {&tc.UserIP, lt.UserIP}} {
		if r.src != nil {
			*r.dst = throttle.Limit{Failures: r.src.Failures, Window: r.src.Window, Block: r.src.Block}
		}
	}
	var store throttle.Store
	if old := s.throttle.cur.Load(); old != nil && old.store == lt.Store {
		store = old.lim.Store()
	} else if lt.Store == "" {
		store = &throttle.Memory{}
	} else {
		c, err := kvstore.Open(lt.Store, nil)
		if err != nil {
			return nil, fmt.Errorf("login_throttle: %w", err)
		}
		store = throttle.NewRedis(c)
	}
	return &loginThrottle{store: lt.Store, lim: throttle.New(tc, store), failClosed: lt.FailClosed}, nil
}

// installThrottle makes t the running login_throttle; the store of the
// one it replaces is closed unless t kept it.
func (s *Server) installThrottle(t *loginThrottle) {
	old := s.throttle.cur.Swap(t)
	if old != nil && (t == nil || old.lim.Store() != t.lim.Store()) {
		old.lim.Close()
	}
}

// discardThrottle closes the store of t, a login_throttle prepared for a
// reload that failed, unless the running one shares it.
func (s *Server) discardThrottle(t *loginThrottle) {
	if t == nil {
		return
	}
	if cur := s.throttle.cur.Load(); cur == nil || cur.lim.Store() != t.lim.Store() {
		t.lim.Close()
	}
}

// attempt is the login of req as login_throttle counts it: the client's
// address, the address an IMAP client forwarded with ID x-originating-ip
// (used only when the client is exempt) and the user name.
func (cc *clientConn) attempt(req *authhttp.Request) throttle.Attempt {
	a := throttle.Attempt{Client: cc.client.Addr(), User: req.User}
	if req.OriginatingIP != "" {
		if f, err := netip.ParseAddr(req.OriginatingIP); err == nil {
			a.Forwarded = f.WithZone("")
		}
	}
	return a
}

// throttleCheck asks login_throttle about req before the auth service
// is: a blocked login gets the failure answer the auth service last gave
// on this server (see refusal); nil, nil lets it through. A store that
// fails lets it through with a warning, or with fail_closed refuses it
// with errThrottleStore.
func (cc *clientConn) throttleCheck(ctx context.Context, req *authhttp.Request) (*authhttp.Response, error) {
	t := cc.srv.throttle.cur.Load()
	if t == nil || req.Method == authhttp.MethodNone {
		return nil, nil
	}
	var rule throttle.Rule
	var err error
	t.call(ctx, func() { rule, err = t.lim.Check(ctx, cc.attempt(req)) })
	cc.srv.storeResult(cc, err)
	if err != nil {
		if t.failClosed {
			return nil, errThrottleStore
		}
		return nil, nil
	}
	if rule == throttle.None {
		return nil, nil
	}
	cc.throttled = rule
	cc.log.Warn("login throttled", "rule", rule.String(), "login", req.User)
	if o := cc.srv.throttleObserver(); o != nil {
		o.LoginThrottled(cc.site.proto.Name(), rule.String())
	}
	return cc.site.refusal(req.Method), nil
}

// call runs f, a call to the limiter (see storeCall).
func (t *loginThrottle) call(ctx context.Context, f func()) { storeCall(ctx, t.store != "", f) }

// throttleAfter counts the auth service's verdict resp on req: a failure
// for every rule of the login (and remembered for the replies of
// throttled logins), a success clears its user_ip count.
func (cc *clientConn) throttleAfter(ctx context.Context, req *authhttp.Request, resp *authhttp.Response) {
	cc.throttled = throttle.None
	if resp.Status == authhttp.StatusFail {
		cc.site.remember(req.Method, resp)
	}
	t := cc.srv.throttle.cur.Load()
	if t == nil || req.Method == authhttp.MethodNone {
		return
	}
	switch resp.Status {
	case authhttp.StatusFail:
		var started []throttle.Rule
		var err error
		t.call(ctx, func() { started, err = t.lim.Failed(ctx, cc.attempt(req)) })
		cc.srv.storeResult(cc, err)
		for _, r := range started {
			cc.log.Warn("login throttle: block started", "rule", r.String(), "login", req.User)
		}
	case authhttp.StatusOK:
		var err error
		t.call(ctx, func() { err = t.lim.Succeeded(ctx, cc.attempt(req)) })
		cc.srv.storeResult(cc, err)
	}
}

// storeResult accounts for one call to the store: a failure is counted
// and logged at most every logEvery; the first success after failures is
// logged once.
func (s *Server) storeResult(cc *clientConn, err error) {
	if o := s.throttleObserver(); o != nil {
		o.ThrottleStore(err == nil)
	}
	if err != nil {
		s.observer().StoreError("login_throttle")
	}
	st := &s.throttle
	st.mu.Lock()
	defer st.mu.Unlock()
	if err == nil {
		if st.failing {
			st.failing = false
			cc.log.Info("login_throttle: the store answers again")
		}
		return
	}
	st.failing = true
	if ok, skipped := s.gate.every("login_throttle store"); ok {
		what := "logins are let through unchecked"
		if t := s.throttle.cur.Load(); t != nil && t.failClosed {
			what = "logins are refused (fail_closed)"
		}
		cc.log.Warn("login_throttle: the store failed; "+what, "err", err, "unlogged", skipped)
	}
}

// refusals are the last failure answers of a site's auth service, by
// authentication method (an Auth-Error-SASL challenge belongs to the
// OAuth methods).
type refusals struct {
	mu   sync.Mutex
	last map[string]authhttp.Response
}

// remember keeps what the client saw of the failure resp to a login by
// method: its text, SMTP code, delay and SASL challenge.
func (s *site) remember(method string, resp *authhttp.Response) {
	r := authhttp.Response{Status: authhttp.StatusFail, Text: resp.Text, ErrorCode: resp.ErrorCode, Wait: resp.Wait,
		ErrorSASL: resp.ErrorSASL, HasErrorSASL: resp.HasErrorSASL}
	s.refused.mu.Lock()
	defer s.refused.mu.Unlock()
	if s.refused.last == nil {
		s.refused.last = map[string]authhttp.Response{}
	}
	s.refused.last[method] = r
	s.refused.last[""] = r
}

// refusal returns the answer a throttled login by method gets, so that
// the client cannot tell it from a failure: the auth service's last
// failure answer on this server to that method, else to any, else
// defaultRefusal.
func (s *site) refusal(method string) *authhttp.Response {
	s.refused.mu.Lock()
	defer s.refused.mu.Unlock()
	r, ok := s.refused.last[method]
	if !ok {
		if r, ok = s.refused.last[""]; ok {
			r.ErrorSASL, r.HasErrorSASL = "", false
		} else {
			r = defaultRefusal
		}
	}
	return &r
}

// preauthEnd is preauthOutcome, but a session that its login's refusal
// ended after login_throttle refused the login ends as Throttled.
func (cc *clientConn) preauthEnd(err error) outcome.End {
	if cc.throttled != throttle.None && errors.Is(err, session.ErrClosed) {
		return outcome.Throttled.With(err)
	}
	return preauthOutcome(err)
}

// inheritRefusals gives each new site the remembered refusals of the old
// site that served its first listen address with the same protocol, so
// that a reload does not change what a throttled login sees.
func inheritRefusals(old, sites []*site) {
	for _, st := range sites {
		for _, o := range old {
			if len(st.cfg.Listen) > 0 && len(o.cfg.Listen) > 0 && st.cfg.Listen[0].Address == o.cfg.Listen[0].Address && st.cfg.Protocol == o.cfg.Protocol {
				o.refused.mu.Lock()
				if o.refused.last != nil {
					st.refused.last = maps.Clone(o.refused.last)
				}
				o.refused.mu.Unlock()
				break
			}
		}
	}
}
