package main

import (
	"context"
	"sync"
	"time"
)

// maxLag is how far a limiter's schedule may fall behind the clock before
// it gives up the tokens it owes and starts again from now.
const maxLag = time.Second

// limiter hands out at most rate tokens per second on a fixed schedule
// (token k is due at start + k/rate, so a slow consumer does not slow the
// schedule, up to maxLag); a nil limiter never waits.
type limiter struct {
	mu   sync.Mutex
	next time.Time
	gap  time.Duration
}

func newLimiter(rate float64) *limiter {
	if rate <= 0 {
		return nil
	}
	return &limiter{next: time.Now(), gap: time.Duration(float64(time.Second) / rate)}
}

// wait blocks until the next token is due or ctx ends, and returns the
// time the token was due (a nil limiter: now); false if ctx ended.
func (l *limiter) wait(ctx context.Context) (time.Time, bool) {
	if l == nil {
		return time.Now(), ctx.Err() == nil
	}
	l.mu.Lock()
	now := time.Now()
	if now.Sub(l.next) > maxLag {
		l.next = now
	}
	at := l.next
	l.next = l.next.Add(l.gap)
	l.mu.Unlock()
	if d := time.Until(at); d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return at, false
		case <-t.C:
		}
	}
	return at, ctx.Err() == nil
}
