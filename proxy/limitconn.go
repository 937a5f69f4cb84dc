package proxy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"mailproxy/authhttp"
	"mailproxy/config"
	"mailproxy/internal/kvstore"
	"mailproxy/internal/limit"
	"mailproxy/internal/session"
	"strings"
)

// connLimit is one limit_conn of a server: at most number connections
// per key of zone.
type connLimit struct {
	zone   limit.Zone
	key    string // the zone's key as written: $remote_addr, $remote_user, $auth_http_NAME
	header string // NAME of $auth_http_NAME
	number int
}

// limitConn is a server's limit_conn set (freenginx's
// ngx_mail_limit_conn_module). Zones keyed by $remote_addr count a
// connection from accept (after the PROXY header): the address is known
// then, and so idle connections before login count too. The others count
// once the auth service accepted the login, as in freenginx.
type limitConn struct {
	atConnect []connLimit
	atLogin   []connLimit
	level     slog.Level // limit_conn_log_level
	dryRun    bool       // limit_conn_dry_run
	headers   bool       // an $auth_http_ key: keep the auth answer's headers
}

// newLimitConn returns cfg's limits, nil when it has none.
func newLimitConn(cfg *config.Server, zones map[string]config.LimitConnZone) *limitConn {
	if len(cfg.LimitConn) == 0 {
		return nil
	}
	lc := &limitConn{dryRun: cfg.LimitConnDryRun, level: slog.LevelError}
	switch cfg.LimitConnLogLevel {
	case "info", "notice":
		lc.level = slog.LevelInfo
	case "warn":
		lc.level = slog.LevelWarn
	}
	for _, l := range cfg.LimitConn {
		z := zones[l.Zone]
		cl := connLimit{zone: limit.Zone{Name: z.Name, Size: z.Size}, key: z.Key, number: l.Number}
		switch {
		case z.Key == "$remote_addr":
			lc.atConnect = append(lc.atConnect, cl)
			continue
		case strings.HasPrefix(z.Key, "$auth_http_"):
			cl.header = z.Key[len("$auth_http_"):]
			lc.headers = true
		}
		lc.atLogin = append(lc.atLogin, cl)
	}
	return lc
}

// newLimitStore returns where cfg's limit_conn counts live: the shared
// store of limit_conn_store, else this process's memory.
func newLimitStore(cfg *config.Config) (limit.Store, error) {
	if cfg.LimitConnStore == "" {
		return &limit.Memory{}, nil
	}
	c, err := kvstore.Open(cfg.LimitConnStore, nil)
	if err != nil {
		return nil, fmt.Errorf("limit_conn_store: %w", err)
	}
	return limit.NewShared(c), nil
}

// heldCount is a connection counted in a zone, released when the session
// ends.
type heldCount struct {
	zone limit.Zone
	key  string
}

// errZoneFull is a zone without room for another key: freenginx answers
// with its internal error.
var errZoneFull = errors.New("limit_conn_zone is full")

// countIn counts the session in the zones of limits, for the keys keyOf
// gives, as freenginx's ngx_mail_limit_conn_handler does: an empty key is
// not counted, a key over 255 bytes is logged and not counted; over a
// limit, or in a full zone, what this call counted is given back and the
// session is refused (session.ErrLimited, errZoneFull) — unless
// limit_conn_dry_run, which only logs and lets it through. The counts
// are released by finish.
func (cc *clientConn) countIn(lc *limitConn, limits []connLimit, keyOf func(connLimit) string) error {
	first := len(cc.held)
	undo := func() {
		for _, h := range cc.held[first:] {
			cc.blockOnStore(func() { cc.srv.store.Release(h.zone, h.key) })
		}
		cc.held = cc.held[:first]
	}
	for _, l := range limits {
		key := keyOf(l)
		if key == "" {
			continue
		}
		if len(key) > 255 {
			cc.log.Error(fmt.Sprintf("the value of the %q key is more than 255 bytes: %q", l.key, key))
			continue
		}
		var v limit.Verdict
		var err error
		cc.blockOnStore(func() { v, err = cc.srv.store.Acquire(l.zone, key, l.number) })
		if err != nil {
			// The shared store did not answer: the limit is not applied
			// (fail open) rather than refusing everyone.
			cc.srv.observer().StoreError("limit_conn")
			if ok, skipped := cc.srv.gate.every("limit_conn store"); ok {
				cc.log.Warn("limit_conn_store did not answer: connections are let through uncounted", "zone", l.zone.Name, "err", err, "unlogged", skipped)
			}
			continue
		}
		switch v {
		case limit.Counted:
			cc.held = append(cc.held, heldCount{l.zone, key})
			continue
		case limit.Full:
			undo()
			cc.log.Error("limit_conn_zone is full", "zone", l.zone.Name)
			if lc.dryRun {
				return nil
			}
			return errZoneFull
		}
		undo()
		dry, reason := "", "limit_conn"
		if lc.dryRun {
			dry, reason = ", dry run,", "limit_conn_dry_run"
		}
		cc.log.Log(context.Background(), lc.level, fmt.Sprintf("limiting connections%s by zone %q", dry, l.zone.Name), "limit", l.number)
		cc.srv.observer().Refused(cc.site.proto.Name(), reason)
		if lc.dryRun {
			return nil
		}
		return session.ErrLimited
	}
	return nil
}

// limitAtConnect counts the session in the server's $remote_addr zones.
func (cc *clientConn) limitAtConnect() error {
	lc := cc.site.limits
	if lc == nil || len(lc.atConnect) == 0 {
		return nil
	}
	addr := cc.client.Addr().String()
	return cc.countIn(lc, lc.atConnect, func(connLimit) string { return addr })
}

// limitAtLogin counts a login the auth service accepted (resp, for the
// request req) in the server's $remote_user and $auth_http_ zones.
func (cc *clientConn) limitAtLogin(req *authhttp.Request, resp *authhttp.Response) error {
	lc := cc.site.limits
	if lc == nil || len(lc.atLogin) == 0 || cc.loginCounted {
		return nil // a failover answer is the same login: counted once
	}
	user := req.User
	if resp.HasUser {
		user = resp.User
	}
	err := cc.countIn(lc, lc.atLogin, func(l connLimit) string {
		if l.header != "" {
			return resp.HeaderVariable(l.header)
		}
		return user
	})
	cc.loginCounted = err == nil
	return err
}

// releaseCounts gives back every count the session holds.
func (cc *clientConn) releaseCounts() {
	for _, h := range cc.held {
		cc.blockOnStore(func() { cc.srv.store.Release(h.zone, h.key) })
	}
	cc.held = nil
}

// blockOnStore runs a call to the limit_conn store (see storeCall).
func (cc *clientConn) blockOnStore(f func()) {
	_, shared := cc.srv.store.(*limit.Shared)
	storeCall(cc.ctx, shared, f)
}
