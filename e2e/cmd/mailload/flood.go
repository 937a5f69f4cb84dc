package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// floodStats are the figures of -mode flood.
type floodStats struct {
	served, refused, dropped atomic.Int64 // greeted, answered "try later", closed or reset without a line
	mu                       sync.Mutex
	refuseLat                []time.Duration // dial to the refusal's line
}

// isRefusal reports a first line that refuses the connection: IMAP's
// "* BYE", POP3's "-ERR", SMTP's 421, ManageSieve's BYE.
func isRefusal(line string) bool {
	for _, p := range []string{"* BYE", "-ERR", "421", "BYE"} {
		if strings.HasPrefix(line, p) {
			return true
		}
	}
	return false
}

// runFlood makes cfg.sessions connection attempts (cfg.concurrency being
// opened at a time, at most cfg.rate per second): a connection greeted is
// held — logged in with -login, else left idle before login — and one
// refused ("try later") is closed. It then prints a "ready" line, holds
// what it got for cfg.duration (or until ctx ends) and closes it all.
func runFlood(ctx context.Context, cfg config, st *stats) {
	var fs floodStats
	next := attempts(ctx, cfg)
	h := newHolder(st)
	var wg sync.WaitGroup
	for range cfg.concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range next {
				c, r, err := floodOne(ctx, cfg, st, &fs)
				switch {
				case err != nil:
					st.fail(err)
				case c != nil: // not refused nor dropped
					h.keep(c, r)
				}
			}
		}()
	}
	wg.Wait()
	fs.mu.Lock()
	slices.Sort(fs.refuseLat)
	p50, p99 := percentile(fs.refuseLat, 0.5), percentile(fs.refuseLat, 0.99)
	fs.mu.Unlock()
	fmt.Fprintf(os.Stdout, "ready held=%d served=%d refused=%d closed=%d errors=%d open_s=%.2f refuse_p50=%s refuse_p99=%s\n",
		st.held.Load(), fs.served.Load(), fs.refused.Load(), fs.dropped.Load(), st.errs.Load(), time.Since(st.start).Seconds(),
		p50.Round(time.Microsecond), p99.Round(time.Microsecond))
	os.Stdout.Sync()
	h.hold(ctx, cfg.duration)
}

// floodOne makes one attempt. It returns the connection to hold (nil
// when the server refused or closed it) or an error (dial, timeout, a
// failed login).
func floodOne(ctx context.Context, cfg config, st *stats, fs *floodStats) (net.Conn, *bufio.Reader, error) {
	t0 := time.Now()
	c, err := dial(ctx, cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("dial: %w", err)
	}
	r := bufio.NewReader(c)
	c.SetDeadline(time.Now().Add(cfg.timeout))
	line, err := r.ReadString('\n')
	switch {
	case err != nil && (errors.Is(err, io.EOF) || isReset(err)) && line == "":
		c.Close()
		fs.dropped.Add(1)
		return nil, nil, nil
	case err != nil:
		c.Close()
		return nil, nil, fmt.Errorf("first line %q: %w", line, err)
	case isRefusal(line):
		fs.mu.Lock()
		fs.refuseLat = append(fs.refuseLat, time.Since(t0))
		fs.mu.Unlock()
		fs.refused.Add(1)
		c.Close()
		return nil, nil, nil
	}
	fs.served.Add(1)
	st.ok.Add(1)
	if cfg.floodLogin {
		s := &session{c: c, r: r, timeout: cfg.timeout}
		s.touch()
		if err := cfg.client.login(s, cfg.user, cfg.pass); err != nil {
			c.Close()
			return nil, nil, fmt.Errorf("login: %w", err)
		}
		st.logins.Add(1)
		st.sample(time.Since(t0))
	}
	c.SetDeadline(time.Time{})
	return c, r, nil
}

// isReset reports a connection reset by the server.
func isReset(err error) bool {
	var ne *net.OpError
	return errors.As(err, &ne) && strings.Contains(ne.Err.Error(), "connection reset")
}
