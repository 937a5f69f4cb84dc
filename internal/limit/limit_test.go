package limit

import (
	"fmt"
	"sync"
	"testing"
)

// TestMemory: counts per key up to the limit, released keys leave the
// zone, zones are separate.
func TestMemory(t *testing.T) {
	var m Memory
	a := Zone{Name: "addr", Size: 1 << 20}
	u := Zone{Name: "user", Size: 1 << 20}
	for i := range 3 {
		if v, err := m.Acquire(a, "192.0.2.1", 3); v != Counted || err != nil {
			t.Fatalf("acquire %d: %v %v", i, v, err)
		}
	}
	if v, _ := m.Acquire(a, "192.0.2.1", 3); v != Over {
		t.Fatalf("fourth: %v", v)
	}
	if v, _ := m.Acquire(a, "192.0.2.2", 3); v != Counted {
		t.Fatalf("other key: %v", v)
	}
	if v, _ := m.Acquire(u, "192.0.2.1", 1); v != Counted {
		t.Fatalf("other zone: %v", v)
	}
	m.Release(a, "192.0.2.1")
	if m.Count("addr", "192.0.2.1") != 2 {
		t.Fatalf("count %d", m.Count("addr", "192.0.2.1"))
	}
	if v, _ := m.Acquire(a, "192.0.2.1", 3); v != Counted {
		t.Fatalf("after release: %v", v)
	}
	for range 3 {
		m.Release(a, "192.0.2.1")
	}
	m.Release(a, "192.0.2.2")
	m.Release(a, "never counted")
	m.Release(Zone{Name: "unknown"}, "x")
	if m.Keys("addr") != 0 || m.zones["addr"].used != 0 {
		t.Fatalf("keys %d used %d", m.Keys("addr"), m.zones["addr"].used)
	}
}

// TestMemoryFull: a zone holds as many keys as its size allows (64 bytes
// for an IPv4 address); a key already counted still counts when full.
func TestMemoryFull(t *testing.T) {
	var m Memory
	z := Zone{Name: "small", Size: 4 * 64}
	for i := range 4 {
		if v, _ := m.Acquire(z, fmt.Sprintf("192.0.2.%d", i), 10); v != Counted {
			t.Fatalf("key %d: %v", i, v)
		}
	}
	if v, _ := m.Acquire(z, "192.0.2.200", 10); v != Full {
		t.Fatalf("fifth key: %v", v)
	}
	if v, _ := m.Acquire(z, "192.0.2.1", 10); v != Counted {
		t.Fatalf("known key: %v", v)
	}
	m.Release(z, "192.0.2.0")
	if v, _ := m.Acquire(z, "192.0.2.200", 10); v != Counted {
		t.Fatalf("after a key left: %v", v)
	}
	if nodeSize("192.0.2.1") != 64 || nodeSize("2001:db8:1234:5678:9abc:def0:1234:5678") != 128 {
		t.Fatal("node sizes")
	}
}

// TestMemoryConcurrent: a limit holds under concurrent acquires.
func TestMemoryConcurrent(t *testing.T) {
	var m Memory
	z := Zone{Name: "addr", Size: 1 << 20}
	var wg sync.WaitGroup
	var mu sync.Mutex
	counted := 0
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if v, _ := m.Acquire(z, "k", 10); v == Counted {
				mu.Lock()
				counted++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if counted != 10 || m.Count("addr", "k") != 10 {
		t.Fatalf("counted %d, count %d", counted, m.Count("addr", "k"))
	}
}
