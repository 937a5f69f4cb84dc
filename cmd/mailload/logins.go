package main

import "context"

// runLogins logs in and out over and over for cfg.duration.
func runLogins(ctx context.Context, cfg config, st *stats) {
	ctx, cancel := context.WithTimeout(ctx, cfg.duration)
	defer cancel()
	workers(ctx, cfg, st, func(ctx context.Context) error {
		s, err := dialLogin(context.WithoutCancel(ctx), cfg, st)
		if err != nil {
			return err
		}
		s.logout()
		return nil
	})
}
