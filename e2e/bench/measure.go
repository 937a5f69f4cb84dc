package bench

import (
	"context"
	"time"
)

// measure runs figure f once on target t. It returns nil and the error's
// text when the run could not be made.
func (b *bench) measure(ctx context.Context, f figure, t *target) (*sample, string) {
	if f.custom != nil {
		return f.custom(b, ctx, f, t)
	}
	if f.idle && t.pid != 0 {
		// Memory is measured on a fresh instance: a long-running one keeps
		// the heap earlier runs grew (Go does not hand it back at once),
		// which would hide what the sessions cost.
		fresh, stop, err := b.spawn(ctx, t.name)
		if err != nil {
			return nil, err.Error()
		}
		defer stop()
		t = fresh
	}
	addr := t.addrs[f.service]
	if addr == "" {
		return nil, "no listener for " + f.service
	}
	args := append([]string{"-addr=" + addr, "-user=bench", "-pass=bench", "-timeout=20s"}, f.args...)
	s := &sample{proxy: t.pid != 0}
	if f.idle {
		return b.measureIdle(ctx, f, t, args, s)
	}
	var cpu0 time.Duration
	if s.proxy {
		cpu0 = treeCPU(t.pid)
	}
	rep, stderr, err := b.load.run(ctx, args, b.o.Duration+60*time.Second)
	if err != nil {
		return nil, err.Error()
	}
	if s.proxy {
		s.cpu = treeCPU(t.pid) - cpu0
	}
	s.rep = rep
	return s, firstLine(stderr)
}

// measureIdle holds f.sessions sessions on t and measures how much the
// proxy's RSS grew, and how many descriptors the sessions hold: those open
// while they are held less those still open once they are closed, so the
// proxy's fixed costs that appear meanwhile (kept auth connections, an
// epoll set, pooled pipes) are not counted per session.
func (b *bench) measureIdle(ctx context.Context, f figure, t *target, args []string, s *sample) (*sample, string) {
	var rss0 int64
	if s.proxy {
		rss0 = treeRSS(t.pid)
	}
	held := 0
	limit := 60*time.Second + time.Duration(f.sessions)*10*time.Millisecond
	rep, stderr, err := b.load.hold(ctx, args, limit, func(ready report) {
		s.ready = ready
		time.Sleep(300 * time.Millisecond) // let the proxy finish its side
		if s.proxy {
			s.rssKiB, held = treeRSS(t.pid)-rss0, treeFDs(t.pid)
		}
	})
	if err != nil {
		return nil, err.Error()
	}
	if s.ready == nil {
		return nil, "sessions not opened in time"
	}
	if s.proxy {
		s.fds = held - settledFDs(t.pid)
	}
	s.rep = rep
	return s, firstLine(stderr)
}

// settledFDs waits (at most 5 s) until pid's tree stops closing
// descriptors after a load ended, and returns how many it has open.
func settledFDs(pid int) int {
	n := treeFDs(pid)
	for range 25 {
		time.Sleep(200 * time.Millisecond)
		m := treeFDs(pid)
		if m == n {
			return m
		}
		n = m
	}
	return n
}
