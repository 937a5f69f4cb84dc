package throttle

import (
	"context"
	"sync"
	"time"
)

// sweepEvery is how often, at most, Memory drops its expired entries.
const sweepEvery = time.Second

// Memory is a Store in this process's memory, with the semantics of
// Redis: expired entries are dropped (at most once a second, by the next
// failure), and a key keeps at most its rule's Failures times, so memory
// is bounded by the failures of the last window. The zero value is
// ready to use.
type Memory struct {
	mu     sync.Mutex
	fails  map[string]*failTimes
	blocks map[string]time.Time // block key → end
	swept  time.Time
}

// failTimes are one key's recent failures, oldest first.
type failTimes struct {
	times   []time.Time
	expires time.Time // the newest failure plus the window (PEXPIRE)
}

// Blocked implements Store.
func (m *Memory) Blocked(_ context.Context, now time.Time, blocks []string) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i, k := range blocks {
		if end, ok := m.blocks[k]; ok && now.Before(end) {
			return i, nil
		}
	}
	return -1, nil
}

// Fail implements Store.
func (m *Memory) Fail(_ context.Context, now time.Time, entries []Entry) ([]bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fails == nil {
		m.fails = map[string]*failTimes{}
		m.blocks = map[string]time.Time{}
	}
	if now.Sub(m.swept) >= sweepEvery || now.Before(m.swept) {
		m.sweep(now)
	}
	started := make([]bool, len(entries))
	for i, e := range entries {
		if end, ok := m.blocks[e.Block]; ok && now.Before(end) {
			continue
		}
		delete(m.blocks, e.Block)
		f := m.fails[e.Fail]
		if f == nil || !now.Before(f.expires) {
			f = &failTimes{}
			m.fails[e.Fail] = f
		}
		// Drop what left the window, as ZREMRANGEBYSCORE -inf now-window.
		cut := 0
		for cut < len(f.times) && !f.times[cut].After(now.Add(-e.Limit.Window)) {
			cut++
		}
		f.times = append(f.times[:0], f.times[cut:]...)
		f.times = append(f.times, now)
		if n := len(f.times) - e.Limit.Failures; n > 0 {
			f.times = append(f.times[:0], f.times[n:]...)
		}
		if len(f.times) >= e.Limit.Failures {
			m.blocks[e.Block] = now.Add(e.Limit.Block)
			delete(m.fails, e.Fail)
			started[i] = true
			continue
		}
		f.expires = now.Add(e.Limit.Window)
	}
	return started, nil
}

// Clear implements Store.
func (m *Memory) Clear(_ context.Context, keys []string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, k := range keys {
		delete(m.fails, k)
	}
	return nil
}

// Close implements Store; a Memory stays usable.
func (m *Memory) Close() error { return nil }

// Len returns how many keys m holds, expired or not (for tests).
func (m *Memory) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.fails) + len(m.blocks)
}

// sweep drops the expired entries.
func (m *Memory) sweep(now time.Time) {
	m.swept = now
	for k, f := range m.fails {
		if !now.Before(f.expires) {
			delete(m.fails, k)
		}
	}
	for k, end := range m.blocks {
		if !now.Before(end) {
			delete(m.blocks, k)
		}
	}
}
