package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"time"
)

// runFetch logs in, moves one message (see protocol.transfer) and logs
// out, over and over for cfg.duration. It samples each transfer's latency
// and each whole session's.
func runFetch(ctx context.Context, cfg config, st *stats) {
	runSessions(ctx, cfg, st, func(s *session) error {
		t0 := time.Now()
		n, err := cfg.client.transfer(s, cfg)
		if err != nil {
			return err
		}
		st.sample(time.Since(t0))
		st.bodies.Add(1)
		st.bodyBytes.Add(n)
		return nil
	})
}

// bodyChunk is the size of the reads that take a message body in.
const bodyChunk = 256 << 10

// bodyCheck checks a received message body against -expect-size and
// -expect-sha256; it hashes only when a digest is expected.
type bodyCheck struct {
	cfg config
	h   hash.Hash
	n   int64
}

func newBodyCheck(cfg config) *bodyCheck {
	b := &bodyCheck{cfg: cfg}
	if cfg.expectSHA256 != "" {
		b.h = sha256.New()
	}
	return b
}

// add takes the next bytes of the body.
func (b *bodyCheck) add(p []byte) {
	b.n += int64(len(p))
	if b.h != nil {
		b.h.Write(p)
	}
}

// done checks the whole body.
func (b *bodyCheck) done() error {
	if b.cfg.expectSize > 0 && b.n != int64(b.cfg.expectSize) {
		return fmt.Errorf("body of %d bytes, want %d", b.n, b.cfg.expectSize)
	}
	if b.h != nil && hex.EncodeToString(b.h.Sum(nil)) != b.cfg.expectSHA256 {
		return fmt.Errorf("body of %d bytes has another SHA-256", b.n)
	}
	return nil
}

// readN reads exactly n bytes from r into b, in large reads (the session's
// small bufio.Reader hands reads of bodyChunk straight to the socket).
func readN(r io.Reader, n int64, b *bodyCheck) error {
	buf := make([]byte, bodyChunk)
	for n > 0 {
		m, err := r.Read(buf[:min(int64(len(buf)), n)])
		b.add(buf[:m])
		n -= int64(m)
		if err != nil && n > 0 {
			return fmt.Errorf("body: %d bytes missing: %w", n, err)
		}
	}
	return nil
}
