package tls

import (
	"container/list"
	"context"
	"crypto/rand"
	"fmt"
	"sync"
	"time"
	"weak"
)

// DefaultSessionCacheSize is nginx's builtin cache size, in sessions.
const DefaultSessionCacheSize = 20480

// SharedCacheSessions is how many sessions a shared:NAME:SIZE cache of
// size bytes holds: about 4000 per megabyte, as nginx's.
func SharedCacheSessions(size int64) int {
	n := size / 256
	if n < 1 {
		return 1
	}
	return int(n)
}

// SessionCache is ssl_session_cache as the memory cache honours it.
type SessionCache struct {
	// Size is the number of sessions kept; 0: no cache (off or none).
	Size int
	// Shared is the name of a shared:NAME:SIZE cache: every server
	// naming it uses one cache. "": builtin, the server's own.
	Shared string
}

// MemoryStore is the in-process SessionStore of ssl_session_cache: at most
// size entries, the least recently used evicted first, each dropped when
// its time is over. It also holds the random key its sessions are sealed
// with, which never leaves the process.
type MemoryStore struct {
	mu      sync.Mutex
	size    int
	entries map[string]*list.Element
	lru     list.List // front: most recently used
	now     func() time.Time
	key     [32]byte
}

type memEntry struct {
	id      string
	value   []byte
	expires time.Time
}

// NewMemoryStore returns an empty MemoryStore of size entries (at least 1).
func NewMemoryStore(size int) *MemoryStore {
	m := &MemoryStore{size: max(size, 1), entries: map[string]*list.Element{}, now: time.Now}
	rand.Read(m.key[:])
	return m
}

// Put stores value under id for ttl, evicting the least recently used
// entries beyond the size.
func (m *MemoryStore) Put(_ context.Context, id string, value []byte, ttl time.Duration) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	e := &memEntry{id: id, value: value, expires: m.now().Add(ttl)}
	if el, ok := m.entries[id]; ok {
		el.Value = e
		m.lru.MoveToFront(el)
	} else {
		m.entries[id] = m.lru.PushFront(e)
	}
	for m.lru.Len() > m.size {
		m.remove(m.lru.Back())
	}
	return nil
}

// Get returns the live value stored under id.
func (m *MemoryStore) Get(_ context.Context, id string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	el, ok := m.entries[id]
	if !ok {
		return nil, nil
	}
	e := el.Value.(*memEntry)
	if !m.now().Before(e.expires) {
		m.remove(el)
		return nil, nil
	}
	m.lru.MoveToFront(el)
	return e.value, nil
}

// Len returns the number of entries held, expired ones included until
// they are looked up or evicted.
func (m *MemoryStore) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.lru.Len()
}

func (m *MemoryStore) remove(el *list.Element) {
	delete(m.entries, el.Value.(*memEntry).id)
	m.lru.Remove(el)
}

// memoryStores are the memory caches of the configurations built so far,
// by identity (see memoryStoreFor). A configuration rebuilt with the same
// TLS settings (a reload) finds the cache of the one it replaces, with
// its sessions; a cache no configuration uses any more is collected.
var memoryStores struct {
	sync.Mutex
	m map[string]weak.Pointer[MemoryStore]
}

// memoryStoreFor returns the memory cache of c for a server of the given
// session context: a shared cache by name and size, a builtin one by
// server context and size. It is the one an earlier configuration built
// with the same identity uses, if any is still in use, else a new one.
func memoryStoreFor(c SessionCache, context []byte) *MemoryStore {
	id := fmt.Sprintf("builtin %x %d", context, c.Size)
	if c.Shared != "" {
		id = fmt.Sprintf("shared %q %d", c.Shared, c.Size)
	}
	memoryStores.Lock()
	defer memoryStores.Unlock()
	if memoryStores.m == nil {
		memoryStores.m = map[string]weak.Pointer[MemoryStore]{}
	}
	if m := memoryStores.m[id].Value(); m != nil {
		return m
	}
	for k, p := range memoryStores.m {
		if p.Value() == nil {
			delete(memoryStores.m, k)
		}
	}
	m := NewMemoryStore(c.Size)
	memoryStores.m[id] = weak.Make(m)
	return m
}
