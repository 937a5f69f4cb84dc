package config

import (
	"net/netip"
	"time"

	yaml "go.yaml.in/yaml/v3"

	"mailproxy/internal/kvstore"
)

// LoginThrottle is the mail-level login_throttle key: failed logins are
// counted per client address (IP), per user name (User) and per both
// (UserIP), and a subject that fails too often is refused without asking
// the auth service. A nil rule is off.
type LoginThrottle struct {
	// Store is the redis:// or rediss:// URL of a Redis or Valkey store
	// that instances share; "": this instance's memory.
	Store            string
	IP, User, UserIP *ThrottleRule
	// IPv6Prefix is the prefix length an IPv6 address counts by
	// (default 64).
	IPv6Prefix int
	// Exempt sources are counted by the client address they forward,
	// never by their own.
	Exempt []netip.Prefix
	// FailClosed: a login the store cannot check gets the auth
	// service's temporary-failure treatment (the internal error) instead
	// of going through unchecked.
	FailClosed bool
}

// ThrottleRule is one rule of login_throttle: Failures failed logins
// within Window (sliding) block the subject for Block.
type ThrottleRule struct {
	Failures int
	Window   time.Duration
	Block    time.Duration
}

// defaultIPv6Prefix is login_throttle's ipv6_prefix default.
const defaultIPv6Prefix = 64

// maxThrottleFailures bounds a rule's failures (the times a store keeps
// per subject).
const maxThrottleFailures = 10000

// loginThrottleValue parses login_throttle: a map of store, ip, user,
// user_ip, ipv6_prefix, exempt and fail_closed, with at least one rule.
func loginThrottleValue(c *collector, key string, n *yaml.Node) (*LoginThrottle, bool) {
	if isNull(n) || n.Kind != yaml.MappingNode {
		c.errorf(lineOf(n), "%s: expected a map with store, ip, user, user_ip, ipv6_prefix, exempt, fail_closed, got %s", key, describe(n))
		return nil, false
	}
	t := &LoginThrottle{IPv6Prefix: defaultIPv6Prefix}
	ok := true
	for _, p := range mapPairs(c, key, n) {
		sub := key + " " + p.key
		g := true
		switch p.key {
		case "store":
			if t.Store, g = nonEmptyText(c, sub, p.value); g {
				if err := kvstore.Validate(t.Store); err != nil {
					c.errorf(p.value.Line, "%s: %v", sub, err)
					g = false
				}
			}
		case "ip":
			t.IP, g = throttleRule(c, sub, p.value)
		case "user":
			t.User, g = throttleRule(c, sub, p.value)
		case "user_ip":
			t.UserIP, g = throttleRule(c, sub, p.value)
		case "ipv6_prefix":
			t.IPv6Prefix, g = positive(c, sub, p.value, 128)
		case "exempt":
			t.Exempt, g = realIPList(c, sub, p.value)
		case "fail_closed":
			t.FailClosed, g = flag(c, sub, p.value)
		default:
			c.errorf(p.line, "%s: unknown key %q, expected store, ip, user, user_ip, ipv6_prefix, exempt or fail_closed", key, p.key)
			g = false
		}
		ok = ok && g
	}
	if ok && t.IP == nil && t.User == nil && t.UserIP == nil {
		c.errorf(n.Line, "%s: no rule: set at least one of ip, user, user_ip", key)
		ok = false
	}
	return t, ok
}

// throttleRule parses one rule: {failures: N, window: TIME, block: TIME},
// all three required; times are at least a millisecond (the store's
// precision).
func throttleRule(c *collector, key string, n *yaml.Node) (*ThrottleRule, bool) {
	if isNull(n) || n.Kind != yaml.MappingNode {
		c.errorf(lineOf(n), "%s: expected a map with failures, window and block, got %s", key, describe(n))
		return nil, false
	}
	r := &ThrottleRule{}
	ok := true
	for _, p := range mapPairs(c, key, n) {
		sub := key + " " + p.key
		var g bool
		switch p.key {
		case "failures":
			r.Failures, g = positive(c, sub, p.value, maxThrottleFailures)
		case "window":
			r.Window, g = throttleTime(c, sub, p.value)
		case "block":
			r.Block, g = throttleTime(c, sub, p.value)
		default:
			c.errorf(p.line, "%s: unknown key %q, expected failures, window or block", key, p.key)
		}
		ok = ok && g
	}
	if ok && (r.Failures == 0 || r.Window == 0 || r.Block == 0) {
		c.errorf(n.Line, "%s: a rule needs failures, window and block", key)
		ok = false
	}
	return r, ok
}

// throttleTime parses a window or block: a duration of at least 1ms.
func throttleTime(c *collector, key string, n *yaml.Node) (time.Duration, bool) {
	d, ok := duration(c, key, n)
	if ok && d < time.Millisecond {
		c.errorf(n.Line, "%s: %v is shorter than 1ms", key, d)
		return 0, false
	}
	return d, ok
}

// resolveThrottle takes login_throttle from the mail level (m) into cfg
// and refuses it in a server (s): the counts are the process's.
func resolveThrottle(c *collector, cfg *Config, m, s settings) {
	if s.loginThrottle.set || s.loginThrottle.bad {
		c.errorf(s.loginThrottle.line, "server: key %q is only allowed in mail", "login_throttle")
	}
	cfg.LoginThrottle = m.loginThrottle.v
}
