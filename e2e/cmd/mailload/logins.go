package main

import (
	"context"
	"fmt"
	"time"
)

// runLogins logs in (and sends a NOOP with cfg.noop) and out over and over
// for cfg.duration, recording each whole session's latency from the time
// it was due.
func runLogins(ctx context.Context, cfg config, st *stats) {
	runSessions(ctx, cfg, st, func(s *session) error {
		if !cfg.noop {
			return nil
		}
		s.touch()
		if err := cfg.client.noop(s); err != nil {
			return fmt.Errorf("noop: %w", err)
		}
		return nil
	})
}

// runSessions runs sessions over and over for cfg.duration, each a login,
// work and a logout, and records each whole session's latency from the
// time it was due. A session whose work fails is closed at once and
// counts as failed.
func runSessions(ctx context.Context, cfg config, st *stats, work func(s *session) error) {
	ctx, cancel := context.WithTimeout(ctx, cfg.duration)
	defer cancel()
	workers(ctx, cfg, st, func(ctx context.Context, due time.Time) error {
		s, err := dialLogin(context.WithoutCancel(ctx), cfg, st)
		if err != nil {
			return err
		}
		if err := work(s); err != nil {
			s.c.Close()
			return err
		}
		s.logout(cfg)
		st.sampleSession(time.Since(due))
		return nil
	})
}
