// Package limit counts open connections per key in named zones, for
// freenginx's mail limit_conn: a connection is counted (Acquire) before
// it is let through and uncounted (Release) when it closes.
//
// The counts sit behind Store so that they can be shared by several
// instances (an implementation backed by Redis/Valkey); Memory keeps
// them in this process, as freenginx's shared memory zone does for its
// workers. The package imports nothing of mailproxy.
package limit

import "sync"

// Zone names a limit_conn_zone and its size in bytes.
type Zone struct {
	Name string
	Size int64
}

// Verdict is the answer of Acquire.
type Verdict uint8

const (
	// Counted: the connection is counted; Release it when it closes.
	Counted Verdict = iota
	// Over: limit connections are already counted for the key; nothing
	// was counted.
	Over
	// Full: the zone has no room for another key; nothing was counted
	// (freenginx answers with its internal error).
	Full
)

// Store counts connections per key in zones. Its methods are safe for
// concurrent use.
type Store interface {
	// Acquire counts one more connection for key in z unless limit are
	// counted already (Over) or a new key does not fit z (Full). An
	// error means the store could not answer (nothing was counted).
	Acquire(z Zone, key string, limit int) (Verdict, error)
	// Release uncounts a connection Acquire counted for key in z.
	Release(z Zone, key string)
}

// Memory is a Store in this process's memory. The zero value is ready
// to use. A zone holds as many keys as freenginx's zone of the same size
// holds, about: each key costs a node of 36 bytes plus the key, rounded
// up to a power of two as freenginx's slab allocator does (64 bytes for
// an IPv4 address, 128 for an IPv6 one).
type Memory struct {
	mu    sync.Mutex
	zones map[string]*memZone
}

type memZone struct {
	counts map[string]int
	used   int64 // bytes the keys counted now take
}

// nodeSize is freenginx's node for key: the rbtree node up to its color
// field (32 bytes), the counter header (4) and the key, rounded up to a
// power of two (ngx_slab_alloc), at least 8.
func nodeSize(key string) int64 {
	n := int64(36 + len(key))
	s := int64(8)
	for s < n {
		s <<= 1
	}
	return s
}

// Acquire implements Store.
func (m *Memory) Acquire(z Zone, key string, limit int) (Verdict, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.zones == nil {
		m.zones = map[string]*memZone{}
	}
	mz := m.zones[z.Name]
	if mz == nil {
		mz = &memZone{counts: map[string]int{}}
		m.zones[z.Name] = mz
	}
	n := mz.counts[key]
	if n == 0 {
		size := nodeSize(key)
		if mz.used+size > z.Size {
			return Full, nil
		}
		mz.used += size
	} else if n >= limit {
		return Over, nil
	}
	mz.counts[key] = n + 1
	return Counted, nil
}

// Release implements Store.
func (m *Memory) Release(z Zone, key string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	mz := m.zones[z.Name]
	if mz == nil {
		return
	}
	switch n := mz.counts[key]; {
	case n > 1:
		mz.counts[key] = n - 1
	case n == 1:
		delete(mz.counts, key)
		mz.used -= nodeSize(key)
	}
}

// Count returns how many connections are counted for key in the zone
// named zone.
func (m *Memory) Count(zone, key string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	if mz := m.zones[zone]; mz != nil {
		return mz.counts[key]
	}
	return 0
}

// Keys returns how many keys the zone named zone counts connections for.
func (m *Memory) Keys(zone string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	if mz := m.zones[zone]; mz != nil {
		return len(mz.counts)
	}
	return 0
}

var _ Store = (*Memory)(nil)
