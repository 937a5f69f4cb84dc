package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"time"
)

// runIdle opens cfg.sessions logged-in sessions, prints a "ready" line,
// holds them for cfg.duration (or until ctx ends) and closes them. A
// session the server closes while held counts as dropped.
func runIdle(ctx context.Context, cfg config, st *stats) {
	next := attempts(ctx, cfg)
	h := newHolder(st)
	var wg sync.WaitGroup
	for range cfg.concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range next {
				s, err := dialLogin(ctx, cfg, st)
				if err != nil {
					st.fail(err)
					continue
				}
				st.ok.Add(1)
				h.keep(s.c, s.r)
			}
		}()
	}
	wg.Wait()
	fmt.Fprintf(os.Stdout, "ready held=%d errors=%d open_s=%.2f\n", st.held.Load(), st.errs.Load(), time.Since(st.start).Seconds())
	os.Stdout.Sync()
	h.hold(ctx, cfg.duration)
}

// attempts gives one token per connection to open: cfg.sessions of them,
// at most cfg.rate per second, until ctx ends.
func attempts(ctx context.Context, cfg config) <-chan struct{} {
	lim := newLimiter(cfg.rate)
	next := make(chan struct{})
	go func() {
		defer close(next)
		for range cfg.sessions {
			if _, ok := lim.wait(ctx); !ok {
				return
			}
			select {
			case next <- struct{}{}:
			case <-ctx.Done():
				return
			}
		}
	}()
	return next
}

// holder keeps connections open, counting in st those it holds and those
// the server drops meanwhile.
type holder struct {
	st      *stats
	mu      sync.Mutex
	conns   []net.Conn
	readers sync.WaitGroup
	closing chan struct{}
}

func newHolder(st *stats) *holder { return &holder{st: st, closing: make(chan struct{})} }

// keep holds c, reading r until the server closes it.
func (h *holder) keep(c net.Conn, r io.Reader) {
	h.st.held.Add(1)
	h.mu.Lock()
	h.conns = append(h.conns, c)
	h.mu.Unlock()
	h.readers.Add(1)
	go func() { // notice a connection the server drops
		defer h.readers.Done()
		_, err := io.Copy(io.Discard, r)
		select {
		case <-h.closing:
		default:
			h.st.held.Add(-1)
			h.st.dropped.Add(1)
			h.st.fail(fmt.Errorf("held connection lost: %v", err))
		}
	}()
}

// hold waits d (or until ctx ends), records the elapsed time, then closes
// every connection held.
func (h *holder) hold(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	select {
	case <-t.C:
	case <-ctx.Done():
	}
	t.Stop()
	h.st.elapsed = time.Since(h.st.start)
	close(h.closing)
	h.mu.Lock()
	for _, c := range h.conns {
		c.Close()
	}
	h.mu.Unlock()
	h.readers.Wait()
}
