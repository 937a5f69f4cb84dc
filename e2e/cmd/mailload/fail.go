package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"
)

// refusal is a server's no to a command: IMAP's tagged NO, POP3's -ERR,
// SMTP's 535; the reply line is its text.
type refusal string

func (r refusal) Error() string { return string(r) }

// errAccepted is a fail-mode login the server accepted.
var errAccepted = errors.New("login accepted, a refusal expected")

// runFail makes failed logins for cfg.duration, as a password-guessing
// client does: -concurrency workers (with -rate, on a fixed schedule of
// -rate attempts per second in all) each connect, read the greeting and
// log in as the next of the -users names with -pass, expecting a
// refusal; a refusal counts as failed, and the client hangs up (the
// server closes after a refusal that carries no Auth-Wait). A login the
// server accepts, or any other reply, is an error. Latencies: p50/p99
// from the dial to the refusal, sess_p50/sess_p99 from the time the
// attempt was due.
func runFail(ctx context.Context, cfg config, st *stats) {
	ctx, cancel := context.WithTimeout(ctx, cfg.duration)
	defer cancel()
	workers(ctx, cfg, st, func(ctx context.Context, due time.Time) error {
		t0 := time.Now()
		s, err := connect(context.WithoutCancel(ctx), cfg, st)
		if err != nil {
			return err
		}
		defer s.c.Close()
		err = cfg.client.login(s, failUser(cfg, failNext.Add(1)), cfg.pass)
		var no refusal
		switch {
		case err == nil:
			s.logout(cfg)
			return errAccepted
		case !errors.As(err, &no):
			return fmt.Errorf("login: %w", err)
		}
		st.failed.Add(1)
		st.sample(time.Since(t0))
		st.sampleSession(time.Since(due))
		return nil
	})
}

// failNext numbers the fail-mode attempts.
var failNext atomic.Uint64

// failUser is the user name of fail-mode attempt n (1, 2, …): -user
// itself, or with -users N, -user followed by n modulo N (0 to N-1), so
// that each name fails at most once every N attempts.
func failUser(cfg config, n uint64) string {
	if cfg.users <= 0 {
		return cfg.user
	}
	return cfg.user + strconv.FormatUint(n%uint64(cfg.users), 10)
}
