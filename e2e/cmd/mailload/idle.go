package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// runIdle opens cfg.sessions logged-in sessions, prints a "ready" line,
// holds them for cfg.duration (or until ctx ends) and closes them. A
// session the server closes while held counts as dropped.
func runIdle(ctx context.Context, cfg config, st *stats) {
	lim := newLimiter(cfg.rate)
	var (
		mu       sync.Mutex
		sessions []*session
		wg       sync.WaitGroup
		next     = make(chan struct{})
		readers  sync.WaitGroup
		closing  = make(chan struct{})
	)
	go func() { // one token per session to open
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
				st.held.Add(1)
				mu.Lock()
				sessions = append(sessions, s)
				mu.Unlock()
				readers.Add(1)
				go func() { // notice a session the server drops
					defer readers.Done()
					_, err := io.Copy(io.Discard, s.r)
					select {
					case <-closing:
					default:
						st.held.Add(-1)
						st.dropped.Add(1)
						st.fail(fmt.Errorf("held session lost: %v", err))
					}
				}()
			}
		}()
	}
	wg.Wait()
	fmt.Fprintf(os.Stdout, "ready held=%d errors=%d open_s=%.2f\n", st.held.Load(), st.errs.Load(), time.Since(st.start).Seconds())
	os.Stdout.Sync()
	t := time.NewTimer(cfg.duration)
	select {
	case <-t.C:
	case <-ctx.Done():
	}
	t.Stop()
	st.elapsed = time.Since(st.start)
	close(closing)
	for _, s := range sessions {
		s.c.Close()
	}
	readers.Wait()
}
