package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"time"
)

// runFetch logs in, SELECTs INBOX, FETCHes one message (checking its size
// and digest when asked) and logs out, over and over for cfg.duration.
func runFetch(ctx context.Context, cfg config, st *stats) {
	ctx, cancel := context.WithTimeout(ctx, cfg.duration)
	defer cancel()
	workers(ctx, cfg, st, func(ctx context.Context) error {
		s, err := dialLogin(context.WithoutCancel(ctx), cfg, st)
		if err != nil {
			return err
		}
		defer s.logout()
		if _, err := s.command("SELECT INBOX", nil); err != nil {
			return fmt.Errorf("select: %w", err)
		}
		bodies := 0
		var bodyBytes int64
		t0 := time.Now()
		_, err = s.command("FETCH "+cfg.msg+" BODY.PEEK[]", func(r io.Reader, n int64) error {
			h := sha256.New()
			if _, err := io.CopyN(h, r, n); err != nil {
				return fmt.Errorf("body after %d bytes: %w", n, err)
			}
			if cfg.expectSize > 0 && n != int64(cfg.expectSize) {
				return fmt.Errorf("body of %d bytes, want %d", n, cfg.expectSize)
			}
			if cfg.expectSHA256 != "" && hex.EncodeToString(h.Sum(nil)) != cfg.expectSHA256 {
				return fmt.Errorf("body of %d bytes has another SHA-256", n)
			}
			bodies++
			bodyBytes += n
			return nil
		})
		if err != nil {
			return fmt.Errorf("fetch: %w", err)
		}
		if bodies != 1 {
			return fmt.Errorf("fetch: %d bodies, want 1", bodies)
		}
		st.sample(time.Since(t0))
		st.bodies.Add(1)
		st.bodyBytes.Add(bodyBytes)
		return nil
	})
}
