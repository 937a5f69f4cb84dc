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
	ctx, cancel := context.WithTimeout(ctx, cfg.duration)
	defer cancel()
	workers(ctx, cfg, st, func(ctx context.Context, due time.Time) error {
		s, err := dialLogin(context.WithoutCancel(ctx), cfg, st)
		if err != nil {
			return err
		}
		if cfg.noop {
			s.touch()
			if err := cfg.client.noop(s); err != nil {
				s.c.Close()
				return fmt.Errorf("noop: %w", err)
			}
		}
		s.logout(cfg)
		st.sampleSession(time.Since(due))
		return nil
	})
}
