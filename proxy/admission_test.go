package proxy

import (
	"testing"
	"time"

	"mailproxy/config"
)

// gateWith returns a gate configured for one server of one listener,
// max_connections maxConns and a descriptor limit leaving budget
// descriptors to sessions and refusals.
func gateWith(t *testing.T, maxConns, budget int) *gate {
	t.Helper()
	g := newGate()
	g.fdLimitFn = func() int { return budget + fixedFDs + 1 }
	g.configure(&config.Config{MaxConnections: maxConns, Servers: []*config.Server{{Listen: []config.Listen{{}}}}}, nil)
	if g.budget != budget {
		t.Fatalf("budget %d, want %d", g.budget, budget)
	}
	return g
}

// TestGateDescriptors: sessions are admitted while three descriptors
// each are free beside the refusals' reserve; then clients are refused
// (one descriptor each, a bounded number at a time), then dropped, and
// the accept loop must wait. A spliced session gives one back.
func TestGateDescriptors(t *testing.T) {
	g := gateWith(t, 0, 100) // refusals: 100/16 = 6; sessions: (100-6)/3 = 31
	for i := range 31 {
		if a, _ := g.admit(); a != admitServe {
			t.Fatalf("session %d: %v", i, a)
		}
	}
	for i := range 6 {
		if a, reason := g.admit(); a != admitRefuse || reason != "descriptors" {
			t.Fatalf("refusal %d: %v %s", i, a, reason)
		}
	}
	if !g.full() {
		t.Fatal("not full with every refusal in flight")
	}
	if a, _ := g.admit(); a != admitDrop {
		t.Fatalf("past the refusals: %v", a)
	}
	g.refused()
	if g.full() {
		t.Fatal("full after a refusal ended")
	}
	g.spliced()
	g.spliced()
	g.spliced() // three spliced sessions free room for one more
	if a, _ := g.admit(); a != admitServe {
		t.Fatalf("after three logins: %v", a)
	}
	if s, u := g.counts(); s != 32 || u != 32*3-3 {
		t.Fatalf("sessions %d units %d", s, u)
	}
	g.ended(3)
	if s, _ := g.counts(); s != 31 {
		t.Fatalf("sessions %d", s)
	}
}

// TestGateMaxConnections: max_connections caps sessions whatever the
// descriptors; the refused get the try-later reply for that reason.
func TestGateMaxConnections(t *testing.T) {
	g := gateWith(t, 2, 1000)
	g.admit()
	g.admit()
	if a, reason := g.admit(); a != admitRefuse || reason != "max_connections" {
		t.Fatalf("third: %v %s", a, reason)
	}
	g.refused()
	g.ended(sessionFDs)
	if a, _ := g.admit(); a != admitServe {
		t.Fatalf("after one ended: %v", a)
	}
}

// TestGateWait: wait returns when descriptors are released, else after
// its timeout.
func TestGateWait(t *testing.T) {
	g := gateWith(t, 1, 100)
	g.admit()
	done := make(chan struct{})
	go func() { g.wait(time.Minute); close(done) }()
	for {
		g.mu.Lock()
		w := g.waiters
		g.mu.Unlock()
		if w == 1 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	g.ended(sessionFDs)
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("wait did not return on release")
	}
	start := time.Now()
	g.wait(20 * time.Millisecond)
	if time.Since(start) < 20*time.Millisecond {
		t.Fatal("wait returned early")
	}
}

// TestGateEvery: one log line per kind and interval, the others counted.
func TestGateEvery(t *testing.T) {
	g := newGate()
	if ok, _ := g.every("a"); !ok {
		t.Fatal("first")
	}
	for range 3 {
		if ok, _ := g.every("a"); ok {
			t.Fatal("second within the interval")
		}
	}
	if ok, _ := g.every("b"); !ok {
		t.Fatal("another kind")
	}
	g.logs["a"].last = time.Now().Add(-logEvery)
	if ok, skipped := g.every("a"); !ok || skipped != 3 {
		t.Fatalf("after the interval: %v %d", ok, skipped)
	}
}
