// Package throttle counts failed logins and blocks the sources and users
// that fail too often (the mail-level login_throttle key). Three rules
// may be set, each with its own numbers: ip (the client's address, IPv6
// by prefix), user (the login name, lower-cased) and user_ip (both).
// Only failures count; a success clears the user_ip count. Windows
// slide: a rule trips when `failures` failures fall within `window`; the
// subject is then blocked for `block`, its window cleared, and counting
// starts afresh when the block ends.
//
// The counts live in a Store: Memory (this process only) or Redis (a
// Redis or Valkey server that several instances share, reached through
// internal/kvstore, one Lua script per operation). The package imports
// nothing of mailproxy but kvstore.
package throttle

import (
	"context"
	"net/netip"
	"strings"
	"time"

	"mailproxy/internal/kvstore"
)

// Rule names one of the three rules.
type Rule uint8

// The rules, in the order a check reports them.
const (
	None Rule = iota // not throttled
	IP
	User
	UserIP
)

// Rules are the names of the rules (IP, User, UserIP), the values of a
// metric's rule label.
var Rules = []string{"ip", "user", "user_ip"}

// String returns the rule's configuration name: ip, user or user_ip
// ("none" for None).
func (r Rule) String() string {
	if r >= IP && r <= UserIP {
		return Rules[r-1]
	}
	return "none"
}

// Limit is one rule's numbers; Failures 0 turns the rule off.
type Limit struct {
	Failures int           // failures within Window that start a block
	Window   time.Duration // how far back failures count (sliding)
	Block    time.Duration // how long a block lasts
}

// DefaultIPv6Prefix is the prefix length IPv6 addresses are counted by
// when Config.IPv6Prefix is 0.
const DefaultIPv6Prefix = 64

// Config is a limiter's rules.
type Config struct {
	IP, User, UserIP Limit
	// IPv6Prefix is the length of the prefix an IPv6 address is counted
	// by (1 to 128; 0: DefaultIPv6Prefix). IPv4 addresses count whole.
	IPv6Prefix int
	// Exempt sources are not counted, nor blocked, by their own address:
	// by the address they forward (Attempt.Forwarded) when they forward
	// one, else only by the user rule.
	Exempt []netip.Prefix
}

// Attempt is one login attempt.
type Attempt struct {
	// Client is the address the login came from (after a trusted PROXY
	// header, the real client's).
	Client netip.Addr
	// Forwarded is the client address an exempt Client forwarded (IMAP
	// ID x-originating-ip); invalid when none. It is ignored unless
	// Client is exempt.
	Forwarded netip.Addr
	// User is the login name as the client sent it; compared
	// case-insensitively (lower-cased). Empty: the user rules do not
	// apply.
	User string
}

// Entry is one rule's keys for one attempt: the key holding its recent
// failure times and the key whose presence is a block.
type Entry struct {
	Rule  Rule
	Fail  string
	Block string
	Limit Limit
}

// Store keeps the counts. Each method is one atomic operation.
type Store interface {
	// Blocked returns the index in blocks of the first key that is
	// present (a block in force), or -1.
	Blocked(ctx context.Context, now time.Time, blocks []string) (int, error)
	// Fail records a failure at now under each entry whose block key is
	// absent: the failure times older than the entry's window are
	// dropped, at most Failures are kept, and when Failures are reached
	// the block key is set for Block and the failure times deleted. It
	// reports, per entry, whether a block started.
	Fail(ctx context.Context, now time.Time, entries []Entry) ([]bool, error)
	// Clear deletes the failure times under keys.
	Clear(ctx context.Context, keys []string) error
	// Close releases the store.
	Close() error
}

// KeyPrefix starts every key the limiter uses.
const KeyPrefix = "mailproxy:throttle:"

// Limiter applies a Config with a Store. It is safe for concurrent use.
type Limiter struct {
	cfg   Config
	store Store
	// Now is the clock; tests replace it.
	Now func() time.Time
}

// New returns a limiter of cfg counting in store.
func New(cfg Config, store Store) *Limiter {
	if cfg.IPv6Prefix == 0 {
		cfg.IPv6Prefix = DefaultIPv6Prefix
	}
	return &Limiter{cfg: cfg, store: store, Now: time.Now}
}

// Store returns the limiter's store.
func (l *Limiter) Store() Store { return l.store }

// Check reports the first rule (ip, user, user_ip) that blocks a, or
// None. A store error is returned as it is, within kvstore.DefaultTimeout.
func (l *Limiter) Check(ctx context.Context, a Attempt) (Rule, error) {
	es := l.Entries(a)
	if len(es) == 0 {
		return None, nil
	}
	blocks := make([]string, len(es))
	for i, e := range es {
		blocks[i] = e.Block
	}
	ctx, cancel := kvstore.Timeout(ctx)
	defer cancel()
	i, err := l.store.Blocked(ctx, l.Now(), blocks)
	if err != nil || i < 0 || i >= len(es) {
		return None, err
	}
	return es[i].Rule, nil
}

// Failed records a failed login; it returns the rules whose block this
// failure started.
func (l *Limiter) Failed(ctx context.Context, a Attempt) ([]Rule, error) {
	es := l.Entries(a)
	if len(es) == 0 {
		return nil, nil
	}
	ctx, cancel := kvstore.Timeout(ctx)
	defer cancel()
	started, err := l.store.Fail(ctx, l.Now(), es)
	if err != nil {
		return nil, err
	}
	var rules []Rule
	for i, s := range started {
		if s && i < len(es) {
			rules = append(rules, es[i].Rule)
		}
	}
	return rules, nil
}

// Succeeded records a successful login: its user_ip count is cleared.
func (l *Limiter) Succeeded(ctx context.Context, a Attempt) error {
	var keys []string
	for _, e := range l.Entries(a) {
		if e.Rule == UserIP {
			keys = append(keys, e.Fail)
		}
	}
	if len(keys) == 0 {
		return nil
	}
	ctx, cancel := kvstore.Timeout(ctx)
	defer cancel()
	return l.store.Clear(ctx, keys)
}

// Close closes the store.
func (l *Limiter) Close() error { return l.store.Close() }

// Entries returns the keys of the rules that apply to a, in rule order:
// ip when a has a countable address, user when it has a user name,
// user_ip when both.
func (l *Limiter) Entries(a Attempt) []Entry {
	addr, hasAddr := l.address(a)
	user := ""
	if a.User != "" {
		user = EscapeUser(a.User)
	}
	var es []Entry
	add := func(r Rule, lim Limit, subject string) {
		if lim.Failures <= 0 {
			return
		}
		name := r.String() + ":" + subject
		es = append(es, Entry{Rule: r, Fail: KeyPrefix + "fail:" + name, Block: KeyPrefix + "block:" + name, Limit: lim})
	}
	if hasAddr {
		add(IP, l.cfg.IP, addr)
	}
	if user != "" {
		add(User, l.cfg.User, user)
		if hasAddr {
			// The escaped user has no ':', so the split is unambiguous.
			add(UserIP, l.cfg.UserIP, user+":"+addr)
		}
	}
	return es
}

// address returns the key part of a's address: the client's, or for an
// exempt client the one it forwarded; false when there is none to count.
func (l *Limiter) address(a Attempt) (string, bool) {
	c := a.Client.Unmap()
	if !c.IsValid() {
		return "", false
	}
	if l.exempt(c) {
		f := a.Forwarded.Unmap()
		if !f.IsValid() || l.exempt(f) {
			return "", false
		}
		c = f
	}
	return AddressKey(c, l.cfg.IPv6Prefix), true
}

func (l *Limiter) exempt(a netip.Addr) bool {
	for _, p := range l.cfg.Exempt {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// AddressKey returns the key part of a: an IPv4 address whole, an IPv6
// address as its prefix of length prefix ("2001:db8:1:2::/64").
func AddressKey(a netip.Addr, prefix int) string {
	a = a.Unmap().WithZone("")
	if a.Is4() {
		return a.String()
	}
	p, err := a.Prefix(prefix)
	if err != nil {
		return a.String()
	}
	return p.String()
}

// EscapeUser returns the key part of a user name: lower-cased, every
// byte but a-z 0-9 . _ - @ + written as %XX, so that no name can contain
// the key separator ':' or collide with another name.
func EscapeUser(user string) string {
	user = strings.ToLower(user)
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(user); i++ {
		c := user[i]
		if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-' || c == '@' || c == '+' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}
