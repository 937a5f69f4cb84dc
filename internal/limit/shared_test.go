package limit_test

import (
	"context"
	"testing"
	"time"

	"mailproxy/internal/kvstore"
	"mailproxy/internal/kvstore/kvstoretest"
	"mailproxy/internal/limit"
)

// sharedPair returns two instances' stores on the store at url.
func sharedPair(t *testing.T, url string) (*limit.Shared, *limit.Shared, kvstore.Client) {
	t.Helper()
	open := func() kvstore.Client {
		c, err := kvstore.Open(url, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	a, b := limit.NewShared(open()), limit.NewShared(open())
	t.Cleanup(a.Close)
	t.Cleanup(b.Close)
	return a, b, open()
}

func acquire(t *testing.T, s limit.Store, key string, n int) limit.Verdict {
	t.Helper()
	v, err := s.Acquire(limit.Zone{Name: "user", Size: 1 << 20}, key, n)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// testAcrossInstances: a limit of 3 holds over two instances, a release
// on either frees a place, and keys do not mix.
func testAcrossInstances(t *testing.T, url string) {
	a, b, _ := sharedPair(t, url)
	z := limit.Zone{Name: "user", Size: 1 << 20}
	if acquire(t, a, "alice", 3) != limit.Counted || acquire(t, b, "alice", 3) != limit.Counted || acquire(t, a, "alice", 3) != limit.Counted {
		t.Fatal("the first three connections were not counted")
	}
	if v := acquire(t, b, "alice", 3); v != limit.Over {
		t.Fatalf("the fourth connection over two instances: %v, want Over", v)
	}
	if v := acquire(t, b, "bob", 3); v != limit.Counted {
		t.Fatalf("another key: %v", v)
	}
	b.Release(z, "alice")
	if v := acquire(t, a, "alice", 3); v != limit.Counted {
		t.Fatalf("after a release on the other instance: %v", v)
	}
	if n, err := a.Count(context.Background(), z, "alice"); err != nil || n != 3 {
		t.Fatalf("count %d, %v; want 3", n, err)
	}
}

func TestSharedAcrossInstancesMini(t *testing.T) {
	_, url := kvstoretest.Mini(t)
	testAcrossInstances(t, url)
}

func TestSharedAcrossInstancesRedis(t *testing.T) {
	testAcrossInstances(t, kvstoretest.Real(t).URL)
}

// TestSharedDeadInstance: the counts of an instance whose heartbeat
// expired no longer count.
func TestSharedDeadInstance(t *testing.T) {
	srv := kvstoretest.Real(t)
	a, b, c := sharedPair(t, srv.URL)
	acquire(t, a, "alice", 2)
	acquire(t, a, "alice", 2)
	if v := acquire(t, b, "alice", 2); v != limit.Over {
		t.Fatalf("%v, want Over", v)
	}
	// a's heartbeat expires as if it had died.
	keys, err := c.Keys(context.Background(), "mailproxy:limit:instance:*").Result()
	if err != nil || len(keys) != 2 {
		t.Fatalf("heartbeat keys %v, %v", keys, err)
	}
	ttl, _ := c.TTL(context.Background(), keys[0]).Result()
	if ttl <= 0 || ttl > 3*limit.Heartbeat {
		t.Errorf("heartbeat TTL %v, want at most %v", ttl, 3*limit.Heartbeat)
	}
	a.Close()
	if v := acquire(t, b, "alice", 2); v != limit.Counted {
		t.Fatalf("after the other instance died: %v, want Counted", v)
	}
}

// TestSharedStoreDown: with the store stopped, Acquire fails quickly
// (the caller lets the connection through) and the pool recovers by
// itself once the store is back.
func TestSharedStoreDown(t *testing.T) {
	srv := kvstoretest.Real(t)
	a, _, _ := sharedPair(t, srv.URL)
	z := limit.Zone{Name: "user", Size: 1 << 20}
	srv.Stop()
	start := time.Now()
	if _, err := a.Acquire(z, "bob", 1); err == nil {
		t.Fatal("Acquire with the store down did not fail")
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("Acquire with the store down took %v", d)
	}
	srv.Start()
	deadline := time.Now().Add(5 * time.Second)
	for {
		v, err := a.Acquire(z, "bob", 1)
		if err == nil && v == limit.Counted {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the store did not count again after it came back: %v, %v", v, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestSharedLostRelease: a Release the store did not take (paused past
// the timeout) is written again at the next heartbeat, so the count does
// not leak.
func TestSharedLostRelease(t *testing.T) {
	srv := kvstoretest.Real(t)
	a, b, c := sharedPair(t, srv.URL)
	z := limit.Zone{Name: "user", Size: 1 << 20}
	acquire(t, a, "alice", 1)
	acquire(t, a, "carol", 2)
	ctx := context.Background()
	if err := c.Do(ctx, "CLIENT", "PAUSE", 1000, "ALL").Err(); err != nil {
		t.Fatal(err)
	}
	a.Release(z, "alice") // times out: lost
	time.Sleep(1100 * time.Millisecond)
	if v := acquire(t, b, "alice", 1); v != limit.Over {
		t.Fatalf("before the heartbeat: %v, want Over (the release was lost)", v)
	}
	a.Beat()
	if v := acquire(t, b, "alice", 1); v != limit.Counted {
		t.Fatalf("after the heartbeat: %v, want Counted", v)
	}
	if n, err := b.Count(ctx, z, "carol"); err != nil || n != 1 {
		t.Fatalf("a count still held after the resync: %d, %v; want 1", n, err)
	}
}
