// Package tlsstore keeps TLS sessions in the Redis or Valkey store that
// mailproxy instances share (ssl_session_store), reached through
// internal/kvstore. It implements mailtls.SessionStore: the tls package
// seals each session (AES-GCM, keys derived from ssl_session_ticket_key)
// before it comes here, so the store never holds anything that decrypts
// traffic.
package tlsstore

import (
	"context"
	"encoding/hex"
	"runtime"
	"sync"
	"time"
	"weak"

	"mailproxy/internal/kvstore"
	mailtls "mailproxy/tls"
)

// Prefix starts every key this package writes.
const Prefix = "mailproxy:tls:"

// Store is a mailtls.SessionStore in a shared store: each session under
// Prefix + the hex of its ID, with its TTL.
type Store struct {
	c kvstore.Client
}

var _ mailtls.SessionStore = (*Store)(nil)

// New returns a Store with a pool of its own for url (validated as
// kvstore.Open does); it does not connect.
func New(url string) (*Store, error) {
	c, err := kvstore.Open(url, nil)
	if err != nil {
		return nil, err
	}
	s := &Store{c: c}
	runtime.AddCleanup(s, func(c kvstore.Client) { c.Close() }, c)
	return s, nil
}

// stores are the Stores in use by URL: the servers of a configuration,
// and the configuration a reload builds, share one pool per URL; a pool
// nothing uses any more is closed.
var stores struct {
	sync.Mutex
	m map[string]weak.Pointer[Store]
}

// Shared returns the Store for url that the configurations in use share,
// or a new one.
func Shared(url string) (*Store, error) {
	stores.Lock()
	defer stores.Unlock()
	if s := stores.m[url].Value(); s != nil {
		return s, nil
	}
	s, err := New(url)
	if err != nil {
		return nil, err
	}
	if stores.m == nil {
		stores.m = map[string]weak.Pointer[Store]{}
	}
	for k, p := range stores.m {
		if p.Value() == nil {
			delete(stores.m, k)
		}
	}
	stores.m[url] = weak.Make(s)
	return s, nil
}

// Key is the store key of a session ID.
func Key(id string) string { return Prefix + hex.EncodeToString([]byte(id)) }

// Put stores value under id for ttl (at least a millisecond).
func (s *Store) Put(ctx context.Context, id string, value []byte, ttl time.Duration) error {
	return s.c.Set(ctx, Key(id), value, max(ttl, time.Millisecond)).Err()
}

// Get returns the value under id; nil and no error when there is none.
func (s *Store) Get(ctx context.Context, id string) ([]byte, error) {
	b, err := s.c.Get(ctx, Key(id)).Bytes()
	if kvstore.IsMissing(err) {
		return nil, nil
	}
	return b, err
}
