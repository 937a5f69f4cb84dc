package tls

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func resumingClient(v uint16) *tls.Config {
	return &tls.Config{InsecureSkipVerify: true, ServerName: "mail.example", ClientSessionCache: tls.NewLRUClientSessionCache(4), MaxVersion: v}
}

// TestCacheResumesWithTicketsOff: ssl_session_tickets off with
// ssl_session_cache builtin resumes from the memory cache, for TLS 1.2
// and 1.3; the client's ticket is only the random ID.
func TestCacheResumesWithTicketsOff(t *testing.T) {
	dir := t.TempDir()
	c, k := pair(t, dir, "mail.example", false)
	s := Settings{Certificates: []string{c}, Keys: []string{k}, DisableSessionTickets: true, SessionCache: SessionCache{Size: 100}}
	srv, _, sessions, err := new(Loader).ServerConfigSessions(s)
	if err != nil || sessions == nil {
		t.Fatalf("%v %v", sessions, err)
	}
	var tickets [][]byte
	wrap := srv.WrapSession
	srv.WrapSession = func(cs tls.ConnectionState, ss *tls.SessionState) ([]byte, error) {
		b, err := wrap(cs, ss)
		tickets = append(tickets, b)
		return b, err
	}
	for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		cli := resumingClient(v)
		if cs, err := handshake(t, srv, cli); err != nil || cs.DidResume {
			t.Fatalf("version %x first: %v", v, err)
		}
		if cs, err := handshake(t, srv, cli); err != nil || !cs.DidResume {
			t.Fatalf("version %x: not resumed from the cache (%v)", v, err)
		}
	}
	if len(tickets) == 0 {
		t.Fatal("no ticket issued")
	}
	for _, tk := range tickets {
		if len(tk) != sessionIDLen {
			t.Fatalf("ticket of %d bytes, not an ID", len(tk))
		}
	}
	// A client that remembers nothing gets a full handshake.
	if cs, err := handshake(t, srv, resumingClient(tls.VersionTLS13)); err != nil || cs.DidResume {
		t.Fatalf("fresh client: %v", err)
	}
}

// TestCacheOffOrNone: tickets off without a cache (none), or with
// ssl_session_cache off even when a store is set, resume nothing.
func TestCacheOffOrNone(t *testing.T) {
	dir := t.TempDir()
	c, k := pair(t, dir, "mail.example", false)
	for _, s := range []Settings{
		{DisableSessionTickets: true},
		{DisableSessionTickets: true, NoSessions: true, SessionStore: NewMemoryStore(10), SessionCache: SessionCache{Size: 10}},
	} {
		s.Certificates, s.Keys = []string{c}, []string{k}
		srv, _, sessions, err := new(Loader).ServerConfigSessions(s)
		if err != nil || sessions != nil || !srv.SessionTicketsDisabled {
			t.Fatalf("%+v: %v %v", s, sessions, err)
		}
		cli := resumingClient(tls.VersionTLS13)
		handshake(t, srv, cli)
		if cs, err := handshake(t, srv, cli); err != nil || cs.DidResume {
			t.Fatalf("resumed (%v)", err)
		}
	}
}

// TestCacheTimeout: an entry older than ssl_session_timeout does not
// resume, by the configuration's clock and by the cache's own expiry.
func TestCacheTimeout(t *testing.T) {
	dir := t.TempDir()
	c, k := pair(t, dir, "mail.example", false)
	s := Settings{Certificates: []string{c}, Keys: []string{k}, DisableSessionTickets: true, SessionCache: SessionCache{Size: 10}, SessionTimeout: time.Minute}
	for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		now := time.Now()
		srv := build(t, s)
		srv.Time = func() time.Time { return now }
		cli := resumingClient(v)
		handshake(t, srv, cli)
		now = now.Add(50 * time.Second)
		if cs, err := handshake(t, srv, cli); err != nil || !cs.DidResume {
			t.Fatalf("version %x: not resumed within the timeout (%v)", v, err)
		}
		now = now.Add(2 * time.Minute)
		if cs, err := handshake(t, srv, cli); err != nil || cs.DidResume {
			t.Fatalf("version %x: resumed after the timeout (%v)", v, err)
		}
	}
	// The cache drops the entry itself once its TTL is over.
	m := NewMemoryStore(10)
	now := time.Now()
	m.now = func() time.Time { return now }
	m.Put(context.Background(), "a", []byte("x"), time.Minute)
	if v, _ := m.Get(context.Background(), "a"); string(v) != "x" {
		t.Fatal("entry missing")
	}
	now = now.Add(time.Minute)
	if v, _ := m.Get(context.Background(), "a"); v != nil || m.Len() != 0 {
		t.Fatalf("expired entry served: %q, %d left", v, m.Len())
	}
}

// TestMemoryStoreEvicts: beyond its size the cache drops the least
// recently used entry; a cache of size 1 resumes only the last client.
func TestMemoryStoreEvicts(t *testing.T) {
	ctx := context.Background()
	m := NewMemoryStore(3)
	for _, id := range []string{"a", "b", "c"} {
		m.Put(ctx, id, []byte(id), time.Hour)
	}
	m.Get(ctx, "a") // a is now the most recent: b goes first
	m.Put(ctx, "d", []byte("d"), time.Hour)
	if m.Len() != 3 {
		t.Fatalf("%d entries", m.Len())
	}
	for id, want := range map[string]string{"a": "a", "b": "", "c": "c", "d": "d"} {
		if v, _ := m.Get(ctx, id); string(v) != want {
			t.Errorf("%s: %q, want %q", id, v, want)
		}
	}

	dir := t.TempDir()
	c, k := pair(t, dir, "mail.example", false)
	srv := build(t, Settings{Certificates: []string{c}, Keys: []string{k}, DisableSessionTickets: true, SessionCache: SessionCache{Size: 1}})
	first, second := resumingClient(tls.VersionTLS12), resumingClient(tls.VersionTLS12)
	handshake(t, srv, first)
	handshake(t, srv, second) // evicts first's session
	if cs, err := handshake(t, srv, first); err != nil || cs.DidResume {
		t.Fatalf("an evicted session resumed (%v)", err)
	}
	if cs, err := handshake(t, srv, first); err != nil || !cs.DidResume {
		t.Fatalf("the latest session did not resume (%v)", err)
	}
}

// TestCacheKeptAcrossRebuild: a configuration rebuilt with the same
// settings (a reload) resumes the sessions of the one it replaces; with
// another certificate (other settings) it does not. Two servers naming
// one shared cache share it, but do not resume each other's sessions.
func TestCacheKeptAcrossRebuild(t *testing.T) {
	dir := t.TempDir()
	c, k := pair(t, dir, "mail.example", false)
	c2, k2 := pair(t, dir, "other.example", false)
	s := Settings{Certificates: []string{c}, Keys: []string{k}, DisableSessionTickets: true, SessionCache: SessionCache{Size: 50}}
	cli := resumingClient(tls.VersionTLS13)
	old := build(t, s)
	handshake(t, old, cli)
	if cs, err := handshake(t, build(t, s), cli); err != nil || !cs.DidResume {
		t.Fatalf("not resumed after a rebuild (%v)", err)
	}
	other := s
	other.Certificates, other.Keys = []string{c2}, []string{k2}
	if cs, err := handshake(t, build(t, other), cli); err != nil || cs.DidResume {
		t.Fatalf("another server resumed the session (%v)", err)
	}

	shared := s
	shared.SessionCache = SessionCache{Size: 50, Shared: "test-shared"}
	sharedOther := other
	sharedOther.SessionCache = shared.SessionCache
	a, b := build(t, shared), build(t, sharedOther)
	cli = resumingClient(tls.VersionTLS13)
	handshake(t, a, cli)
	if cs, err := handshake(t, b, cli); err != nil || cs.DidResume {
		t.Fatalf("a session resumed on another server of the shared cache (%v)", err)
	}
	handshake(t, a, cli)
	if cs, err := handshake(t, a, cli); err != nil || !cs.DidResume {
		t.Fatalf("shared cache: not resumed (%v)", err)
	}
	if memoryStoreFor(shared.SessionCache, nil) != memoryStoreFor(sharedOther.SessionCache, []byte("x")) {
		t.Fatal("one shared name, two caches")
	}
	_ = old
}

// TestTicketsOnIgnoresCache: with tickets on, a cache or store changes
// nothing: stateless tickets, the store untouched.
func TestTicketsOnIgnoresCache(t *testing.T) {
	dir := t.TempDir()
	c, k := pair(t, dir, "mail.example", false)
	store := &countingStore{MemoryStore: NewMemoryStore(10)}
	srv, _, sessions, err := new(Loader).ServerConfigSessions(Settings{Certificates: []string{c}, Keys: []string{k}, SessionCache: SessionCache{Size: 10}, SessionStore: store})
	if err != nil || sessions != nil {
		t.Fatalf("%v %v", sessions, err)
	}
	cli := resumingClient(tls.VersionTLS13)
	handshake(t, srv, cli)
	if cs, err := handshake(t, srv, cli); err != nil || !cs.DidResume {
		t.Fatalf("not resumed (%v)", err)
	}
	if store.calls.Load() != 0 {
		t.Fatal("the store was used with tickets on")
	}
}

// TestStoreNeedsTicketKey: a store without ssl_session_ticket_key is
// refused.
func TestStoreNeedsTicketKey(t *testing.T) {
	dir := t.TempDir()
	c, k := pair(t, dir, "mail.example", false)
	_, _, err := NewServerConfig(Settings{Certificates: []string{c}, Keys: []string{k}, DisableSessionTickets: true, SessionStore: NewMemoryStore(1)})
	if err == nil || !strings.Contains(err.Error(), "ssl_session_store needs ssl_session_ticket_key") {
		t.Fatal(err)
	}
}

// TestStoreFailsOpen: a store that fails gives full handshakes, each
// failure reported, none failing the handshake.
func TestStoreFailsOpen(t *testing.T) {
	dir := t.TempDir()
	c, k := pair(t, dir, "mail.example", false)
	store := &countingStore{MemoryStore: NewMemoryStore(10)}
	key := ticketKeyFile(t, dir, "t.key", 80, 'k')
	srv, _, sessions, err := new(Loader).ServerConfigSessions(Settings{Certificates: []string{c}, Keys: []string{k}, DisableSessionTickets: true, SessionTicketKeys: []string{key}, SessionStore: store})
	if err != nil {
		t.Fatal(err)
	}
	var errs []string
	sessions.OnError(func(op string, err error) { errs = append(errs, op) })
	cli := resumingClient(tls.VersionTLS13)
	handshake(t, srv, cli)
	if cs, err := handshake(t, srv, cli); err != nil || !cs.DidResume {
		t.Fatalf("working store: not resumed (%v)", err)
	}
	store.fail.Store(true)
	if cs, err := handshake(t, srv, cli); err != nil || cs.DidResume {
		t.Fatalf("failing store: %v, resumed %v", err, cs.DidResume)
	}
	if len(errs) != 1 || errs[0] != "get" {
		t.Fatalf("reported: %v (the put after a failed get is skipped)", errs)
	}
	calls := store.calls.Load()
	if cs, err := handshake(t, srv, resumingClient(tls.VersionTLS13)); err != nil || cs.DidResume {
		t.Fatalf("failing store, new client: %v", err)
	}
	if store.calls.Load() != calls {
		t.Fatal("the store was called within StoreRetryAfter of a failure")
	}
	sessions.downUntil.Store(0) // StoreRetryAfter is over
	if cs, err := handshake(t, srv, resumingClient(tls.VersionTLS13)); err != nil || cs.DidResume {
		t.Fatalf("failing store, new client: %v", err)
	}
	if len(errs) != 2 || errs[1] != "put" {
		t.Fatalf("reported: %v", errs)
	}
}

// TestStoreCallsBounded: a store that never answers holds each call for
// StoreTimeout at most: the handshake goes on, without resumption.
func TestStoreCallsBounded(t *testing.T) {
	dir := t.TempDir()
	c, k := pair(t, dir, "mail.example", false)
	key := ticketKeyFile(t, dir, "t.key", 80, 'k')
	store := &hangingStore{}
	srv, _, sessions, err := new(Loader).ServerConfigSessions(Settings{Certificates: []string{c}, Keys: []string{k}, DisableSessionTickets: true, SessionTicketKeys: []string{key}, SessionStore: store})
	if err != nil {
		t.Fatal(err)
	}
	var errs atomic.Int64
	sessions.OnError(func(string, error) { errs.Add(1) })
	cli := resumingClient(tls.VersionTLS13)
	handshake(t, srv, cli)
	sessions.downUntil.Store(0)
	if cs, err := handshake(t, srv, cli); err != nil || cs.DidResume {
		t.Fatalf("hanging store: %v", err)
	}
	if errs.Load() != 2 {
		t.Fatalf("%d errors reported, want 2", errs.Load())
	}
	if d := store.longest.Load(); d <= 0 || time.Duration(d) > StoreTimeout {
		t.Fatalf("a call's deadline was %v away (StoreTimeout %v)", time.Duration(d), StoreTimeout)
	}
}

// hangingStore answers only when the call's context ends, recording the
// longest deadline it was given.
type hangingStore struct{ longest atomic.Int64 }

func (h *hangingStore) wait(ctx context.Context) error {
	d, ok := ctx.Deadline()
	if !ok {
		return errors.New("no deadline")
	}
	if left := int64(time.Until(d)); left > h.longest.Load() {
		h.longest.Store(left)
	}
	<-ctx.Done()
	return ctx.Err()
}

func (h *hangingStore) Put(ctx context.Context, _ string, _ []byte, _ time.Duration) error {
	return h.wait(ctx)
}

func (h *hangingStore) Get(ctx context.Context, _ string) ([]byte, error) {
	return nil, h.wait(ctx)
}

// countingStore wraps a MemoryStore, counting calls and failing on demand.
type countingStore struct {
	*MemoryStore
	calls atomic.Int64
	fail  atomic.Bool
}

func (s *countingStore) Put(ctx context.Context, id string, v []byte, ttl time.Duration) error {
	s.calls.Add(1)
	if s.fail.Load() {
		return errors.New("store down")
	}
	return s.MemoryStore.Put(ctx, id, v, ttl)
}

func (s *countingStore) Get(ctx context.Context, id string) ([]byte, error) {
	s.calls.Add(1)
	if s.fail.Load() {
		return nil, errors.New("store down")
	}
	return s.MemoryStore.Get(ctx, id)
}

// TestStoredSessionSealed: what the store receives is the session sealed
// with the key derived from ssl_session_ticket_key: the master secret is
// not in it, it opens with that key (and then holds the master secret)
// and with no other.
func TestStoredSessionSealed(t *testing.T) {
	dir := t.TempDir()
	c, k := pair(t, dir, "mail.example", false)
	store := NewMemoryStore(10)
	s := Settings{Certificates: []string{c}, Keys: []string{k}, DisableSessionTickets: true, SessionTicketKeys: []string{ticketKeyFile(t, dir, "t.key", 48, 'k')}, SessionStore: store}
	srv, _, sessions, err := new(Loader).ServerConfigSessions(s)
	if err != nil {
		t.Fatal(err)
	}
	var log strings.Builder
	cli := resumingClient(tls.VersionTLS12)
	cli.KeyLogWriter = &log
	handshake(t, srv, cli)
	f := strings.Fields(log.String()) // CLIENT_RANDOM <random> <master secret>
	if len(f) != 3 || f[0] != "CLIENT_RANDOM" {
		t.Fatalf("key log %q", log.String())
	}
	secret, _ := hex.DecodeString(f[2])
	if store.Len() != 1 {
		t.Fatalf("%d entries", store.Len())
	}
	el := store.lru.Front().Value.(*memEntry)
	if bytes.Contains(el.value, secret) {
		t.Fatal("the master secret in clear in the store")
	}
	plain := sessions.open([]byte(el.id), el.value)
	if plain == nil || !bytes.Contains(plain, secret) {
		t.Fatal("the entry does not open with the key, or is not the session")
	}
	s.SessionTicketKeys = []string{ticketKeyFile(t, dir, "other.key", 48, 'o')}
	_, _, other, err := new(Loader).ServerConfigSessions(s)
	if err != nil {
		t.Fatal(err)
	}
	if other.open([]byte(el.id), el.value) != nil {
		t.Fatal("the entry opens with another key")
	}
	if sessions.open([]byte("another id......"), el.value) != nil {
		t.Fatal("the entry opens under another ID")
	}
}
