package authhttp

import (
	"container/list"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"hash"
	"strconv"
	"sync"
	"time"
)

// CacheOptions configure a Cache (auth_http_cache, beyond nginx).
type CacheOptions struct {
	// MaxEntries bounds the answers kept; the least recently used one
	// makes way. ≤ 0: DefaultCacheEntries.
	MaxEntries int
	// OK and Fail are how long an accepted login and a refusal (without
	// Auth-Wait) are kept when the answer has no Auth-Cache-TTL; 0 keeps
	// none of that kind.
	OK, Fail time.Duration
	// ClientIP puts the client's address (Client-IP, Client-Host,
	// Proxy-Protocol-*) in the key: an answer then serves only the same
	// client address.
	ClientIP bool
}

// DefaultCacheEntries is the size of a Cache given none.
const DefaultCacheEntries = 10000

// Cache keeps auth answers for repeated logins, so that a client that
// logs in again (a mail client polling, a phone reconnecting) is not sent
// to the auth service each time. It is safe for concurrent use.
//
// What is kept: answers OK and refusals without Auth-Wait, for the TTL of
// CacheOptions or the answer's Auth-Cache-TTL (seconds; 0 or a value that
// is not a number: not kept). Never kept: WAIT, refusals with Auth-Wait
// (the client may retry), failures to get an answer, logins with
// apop, cram-md5 or external (their answers depend on a per-session
// salt or certificate), requests sent while WAIT is in force, failover
// requests, and answers whose Auth-Pass differs from the client's own
// password (it would have to be stored).
//
// The key is an HMAC-SHA256, with a random key made by NewCache and held
// in memory only, of every request field that may change the answer —
// protocol, method, user, password, SMTP envelope, TLS facts and (with
// ClientIP) the client's address — but not Auth-Login-Attempt: no user
// name, password or plain hash of one is stored. An Auth-Pass equal to
// the client's password is stored as a flag and given back from the
// request.
type Cache struct {
	opts CacheOptions
	pool sync.Pool // hash.Hash with the key

	mu  sync.Mutex
	lru *list.List // of *cacheEntry, most recently used first
	idx map[[sha256.Size]byte]*list.Element
}

type cacheEntry struct {
	key      [sha256.Size]byte
	resp     Response // Pass cleared
	passBack bool     // the answer's Auth-Pass was the client's password
	expires  time.Time
}

// NewCache returns an empty cache with a fresh random key.
func NewCache(o CacheOptions) *Cache {
	if o.MaxEntries <= 0 {
		o.MaxEntries = DefaultCacheEntries
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		panic("authhttp: no randomness for the cache key: " + err.Error())
	}
	c := &Cache{opts: o, lru: list.New(), idx: map[[sha256.Size]byte]*list.Element{}}
	c.pool.New = func() any { return hmac.New(sha256.New, key) }
	return c
}

// Len returns how many answers are kept.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len()
}

// Cacheable reports whether r's answer may come from, or go to, a Cache
// (see Cache for what is never kept).
func Cacheable(r *Request) bool { return cacheable(r) }

func cacheable(r *Request) bool {
	if r.Waiting || r.FailedServer != "" {
		return false
	}
	switch wireMethod(r.Method) {
	case MethodAPOP, MethodCRAMMD5, MethodExternal:
		return false
	}
	return true
}

// Get returns a copy of the answer kept for r, or nil.
func (c *Cache) Get(r *Request) *Response {
	if !cacheable(r) {
		return nil
	}
	k := c.key(r)
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.idx[k]
	if !ok {
		return nil
	}
	e := el.Value.(*cacheEntry)
	if !now.Before(e.expires) {
		c.lru.Remove(el)
		delete(c.idx, k)
		return nil
	}
	c.lru.MoveToFront(el)
	resp := e.resp
	if e.passBack {
		resp.Pass = r.Pass
	}
	return &resp
}

// Put keeps resp, the answer to r, when the rules of Cache allow it.
func (c *Cache) Put(r *Request, resp *Response) {
	if !cacheable(r) || resp == nil {
		return
	}
	var ttl time.Duration
	switch {
	case resp.Status == StatusOK:
		ttl = c.opts.OK
	case resp.Status == StatusFail && resp.Wait <= 0:
		ttl = c.opts.Fail
	default:
		return
	}
	if resp.HasCacheTTL {
		ttl = resp.CacheTTL
	}
	if ttl <= 0 {
		return
	}
	e := &cacheEntry{resp: *resp, expires: time.Now().Add(ttl)}
	if resp.HasPass {
		if resp.Pass != r.Pass {
			return
		}
		e.resp.Pass, e.passBack = "", true
	}
	e.key = c.key(r)
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.idx[e.key]; ok {
		el.Value = e
		c.lru.MoveToFront(el)
		return
	}
	c.idx[e.key] = c.lru.PushFront(e)
	for c.lru.Len() > c.opts.MaxEntries {
		last := c.lru.Back()
		delete(c.idx, last.Value.(*cacheEntry).key)
		c.lru.Remove(last)
	}
}

// Forget drops the answer kept for r (its backend failed).
func (c *Cache) Forget(r *Request) {
	k := c.key(r)
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.idx[k]; ok {
		c.lru.Remove(el)
		delete(c.idx, k)
	}
}

// key is the HMAC of r's fields, each length-prefixed so that no two
// requests share a key.
func (c *Cache) key(r *Request) [sha256.Size]byte {
	h := c.pool.Get().(hash.Hash)
	defer c.pool.Put(h)
	h.Reset()
	var n [4]byte
	field := func(s string) {
		binary.BigEndian.PutUint32(n[:], uint32(len(s)))
		h.Write(n[:])
		h.Write([]byte(s))
	}
	field(r.Protocol)
	field(wireMethod(r.Method))
	field(r.User)
	field(r.Pass)
	field(r.Salt)
	field(r.SMTPHelo)
	field(r.SMTPFrom)
	field(r.SMTPTo)
	if s := r.SSL; s != nil {
		field("ssl")
		field(s.Protocol)
		field(s.Cipher)
		field(s.Verify)
		field(s.Fingerprint)
	} else {
		field("")
	}
	if c.opts.ClientIP {
		field(r.ClientIP)
		field(r.ClientHost)
		if p := r.Proxy; p != nil {
			field(p.SrcAddr + " " + p.SrcPort + " " + p.DstAddr + " " + p.DstPort)
		} else {
			field("")
		}
	} else {
		field(strconv.Itoa(-1))
	}
	var out [sha256.Size]byte
	h.Sum(out[:0])
	return out
}
