package main

import (
	"fmt"
	"io"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// stats gathers the figures of a run; safe for concurrent use.
type stats struct {
	start             time.Time
	ok, errs          atomic.Int64 // completed and failed operations
	logins            atomic.Int64
	failed            atomic.Int64 // fail: logins refused, as expected
	held, dropped     atomic.Int64 // idle: sessions held at the end, lost while held
	bytesIn, bytesOut atomic.Int64
	bodies, bodyBytes atomic.Int64 // fetch: moved messages and their bytes
	mu                sync.Mutex
	lat               []time.Duration // logins (fetch: transfers)
	sess              []time.Duration // whole sessions (logins, fetch)
	errMsgs           map[string]int
	elapsed           time.Duration // the measured phase
}

// maxSamples bounds each latency sample list.
const maxSamples = 1 << 20

// sample records a login (fetch: transfer) latency.
func (s *stats) sample(d time.Duration) {
	s.mu.Lock()
	if len(s.lat) < maxSamples {
		s.lat = append(s.lat, d)
	}
	s.mu.Unlock()
}

// sampleSession records a whole session's latency.
func (s *stats) sampleSession(d time.Duration) {
	s.mu.Lock()
	if len(s.sess) < maxSamples {
		s.sess = append(s.sess, d)
	}
	s.mu.Unlock()
}

func (s *stats) fail(err error) {
	s.errs.Add(1)
	s.mu.Lock()
	if s.errMsgs == nil {
		s.errMsgs = map[string]int{}
	}
	if _, ok := s.errMsgs[err.Error()]; ok || len(s.errMsgs) < 10 {
		s.errMsgs[err.Error()]++
	}
	s.mu.Unlock()
}

// percentile returns the p-quantile (0..1) of sorted, 0 when it is empty.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(p*float64(len(sorted))))]
}

// report writes the error messages to stderr and the report line to w.
// Keys are only ever added, never renamed: tests and mailbench read them.
func (s *stats) report(w io.Writer, cfg config, nofile uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for m, n := range s.errMsgs {
		fmt.Fprintf(os.Stderr, "mailload: error (%d times): %s\n", n, m)
	}
	el := s.elapsed
	if el == 0 {
		el = time.Since(s.start)
	}
	slices.Sort(s.lat)
	slices.Sort(s.sess)
	us := func(d time.Duration) time.Duration { return d.Round(time.Microsecond) }
	fmt.Fprintf(w, "report mode=%s elapsed=%.2fs ok=%d errors=%d logins=%d logins_per_s=%.1f held=%d dropped=%d p50=%s p99=%s max=%s bytes_in=%d bytes_out=%d bodies=%d body_bytes=%d nofile=%d"+
		" proto=%s tls=%t ok_per_s=%.1f sess_p50=%s sess_p99=%s body_mb_per_s=%.1f failed=%d\n",
		cfg.mode, el.Seconds(), s.ok.Load(), s.errs.Load(), s.logins.Load(), float64(s.logins.Load())/el.Seconds(),
		s.held.Load(), s.dropped.Load(), us(percentile(s.lat, 0.50)), us(percentile(s.lat, 0.99)),
		us(percentile(s.lat, 1)), s.bytesIn.Load(), s.bytesOut.Load(), s.bodies.Load(), s.bodyBytes.Load(), nofile,
		cfg.proto, cfg.tls, float64(s.ok.Load())/el.Seconds(), us(percentile(s.sess, 0.50)), us(percentile(s.sess, 0.99)),
		float64(s.bodyBytes.Load())/1e6/el.Seconds(), s.failed.Load())
}
