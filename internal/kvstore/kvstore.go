// Package kvstore connects to the Redis or Valkey server that several
// mailproxy instances share: login throttling, limit_conn counts and TLS
// sessions all reach it through Open, so that every one of them has the
// same URL rules, pool and timeouts.
//
// The client is github.com/redis/go-redis/v9: it speaks RESP2 and RESP3
// to Redis and Valkey alike, pools connections, applies per-call
// deadlines, and runs Lua scripts by SHA with a fallback to EVAL.
package kvstore

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// DefaultTimeout bounds every call to the store when the URL sets none: a
// login never waits longer than this for it.
const DefaultTimeout = 200 * time.Millisecond

// Client is a connection pool to one store. It is safe for concurrent use.
type Client = redis.UniversalClient

// Script is a Lua script run on the store (by SHA, else sent whole).
type Script = redis.Script

// NewScript returns the Lua script src.
func NewScript(src string) *Script { return redis.NewScript(src) }

func init() {
	// The client's own log lines (pool dial failures) would bypass the
	// daemon's logger: callers report store failures themselves.
	redis.SetLogger(silent{})
}

// silent drops go-redis's log lines.
type silent struct{}

func (silent) Printf(context.Context, string, ...any) {}

// Validate checks that raw is a store URL Open accepts, with the error
// a configuration check reports.
func Validate(raw string) error {
	_, err := options(raw, nil)
	return err
}

// Open returns a pool for raw, a URL of the form
// redis://[user:password@]host:port[/db] or rediss:// for TLS (with the
// query options go-redis knows, e.g. ?dial_timeout=1s&pool_size=20).
// Calls time out after DefaultTimeout unless the URL says otherwise; tlsCfg,
// when not nil, replaces the default TLS settings of rediss:// (the
// system's roots, the host's name). Open does not connect: the first
// call does, and a store down is an error of that call.
func Open(raw string, tlsCfg *tls.Config) (Client, error) {
	o, err := options(raw, tlsCfg)
	if err != nil {
		return nil, err
	}
	return redis.NewClient(o), nil
}

// options parses raw into go-redis options with mailproxy's defaults.
func options(raw string, tlsCfg *tls.Config) (*redis.Options, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("store %q: %w", raw, err)
	}
	switch strings.ToLower(u.Scheme) {
	case "redis", "rediss":
	default:
		return nil, fmt.Errorf("store %q: the scheme must be redis:// or rediss://", raw)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("store %q: no host", raw)
	}
	o, err := redis.ParseURL(raw)
	if err != nil {
		return nil, fmt.Errorf("store %q: %w", raw, err)
	}
	q := u.Query()
	if !q.Has("dial_timeout") {
		o.DialTimeout = DefaultTimeout
	}
	if !q.Has("read_timeout") {
		o.ReadTimeout = DefaultTimeout
	}
	if !q.Has("write_timeout") {
		o.WriteTimeout = DefaultTimeout
	}
	if !q.Has("max_retries") {
		o.MaxRetries = -1 // a login does not wait for retries: fail fast, fail open
	}
	if !q.Has("pool_timeout") {
		o.PoolTimeout = DefaultTimeout
	}
	o.DisableIdentity = true // no CLIENT SETINFO: Redis 7.0 and proxies refuse it
	if o.TLSConfig != nil && tlsCfg != nil {
		o.TLSConfig = tlsCfg
	}
	return o, nil
}

// Timeout returns ctx bounded by the store's call timeout, for a series
// of calls that must not outlast one.
func Timeout(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, DefaultTimeout)
}

// IsMissing reports whether err is a read of a key that does not exist.
func IsMissing(err error) bool { return errors.Is(err, redis.Nil) }
