// Command mailbench measures mailproxy side by side with nginx's mail
// module and with the backend itself, and prints one table of medians,
// spreads and ratios against the project's targets (see e2e/bench).
//
//	mailbench                      # the default run, about 10 minutes
//	mailbench -quick               # a smoke test, a few seconds per figure
//	mailbench -figures imap-idle -idle-sessions 9000
//
// It starts everything it measures (in-memory backends and an auth service
// in this process; nginx, mailproxy and mailload as children on loopback)
// and stops all of it by PID before it exits, also on Ctrl-C. `make bench`
// builds the binaries, installs nginx and its mail module when missing,
// and runs it. Exit status: 0 when the run finished (whatever the
// figures), 1 when it could not run, 2 on bad flags.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"mailproxy/e2e/bench"
)

func main() {
	var o bench.Options
	self, _ := os.Executable()
	dir := filepath.Dir(self)
	var protocols string
	flag.StringVar(&o.Mailproxy, "mailproxy", filepath.Join(dir, "mailproxy"), "mailproxy binary")
	flag.StringVar(&o.Mailload, "mailload", filepath.Join(dir, "mailload"), "mailload binary")
	flag.StringVar(&o.Nginx, "nginx", "", "nginx binary (default: nginx in PATH, else /usr/sbin/nginx)")
	flag.StringVar(&o.NginxModule, "nginx-module", "", "ngx_mail_module.so (default: from nginx -V's --modules-path)")
	flag.BoolVar(&o.NoNginx, "no-nginx", false, "measure the backend and mailproxy only")
	flag.BoolVar(&o.NeedNginx, "need-nginx", false, "fail when nginx or its mail module is missing")
	flag.IntVar(&o.Rounds, "rounds", 0, "interleaved rounds per figure (default 3; -quick 1)")
	flag.DurationVar(&o.Duration, "duration", 0, "length of each timed run (default 2s; -quick 200ms)")
	flag.IntVar(&o.Concurrency, "concurrency", 0, "clients of the sessions/s and TLS figures (default 16)")
	flag.Float64Var(&o.Rate, "rate", 0, "sessions per second of the paced, paced-keepalive and budget figures (default 1000; -quick 200)")
	flag.IntVar(&o.IdleSessions, "idle-sessions", 0, "sessions held by the idle figures (default 2000, at most 9000; -quick 20)")
	flag.IntVar(&o.FetchSize, "fetch-size", 0, "IMAP/POP3 message size in bytes (default 16 MiB; -quick 1 MiB)")
	flag.IntVar(&o.SMTPSize, "smtp-size", 0, "SMTP message size in bytes (default 1000000; -quick 64 KiB)")
	flag.StringVar(&protocols, "protocols", "imap,pop3,smtp", "protocols to measure")
	flag.StringVar(&o.Figures, "figures", "", "comma-separated figure id prefixes, e.g. imap-idle,pop3 (default all)")
	flag.StringVar(&o.LogLevel, "log-level", "info", "mailproxy's log_level during the run")
	flag.StringVar(&o.EventLoops, "event-loops", "", "mailproxy's event_loops during the run (default: its default)")
	flag.IntVar(&o.FloodAttempts, "flood-attempts", 0, "attack-cap: connection attempts (default 20000; -quick 400)")
	flag.IntVar(&o.FloodCap, "flood-cap", 0, "attack-cap: max_connections (default 4000; -quick 100)")
	flag.IntVar(&o.FloodConcurrency, "flood-concurrency", 0, "attack-cap: attempts being opened at a time (default 256; -quick 32)")
	flag.IntVar(&o.IdleFlood, "idle-flood", 0, "attack-addr: idle connections one address opens (default 10000; -quick 500)")
	flag.IntVar(&o.PerAddress, "per-address", 0, "attack-addr: limit_conn per address (default 10)")
	flag.Float64Var(&o.AttackRate, "attack-rate", 0, "attack-addr: logins per second from another address (default 200; -quick 100)")
	flag.Float64Var(&o.ThrottleRate, "throttle-rate", 0, "attack-throttle: failed logins per second from 100 addresses (default 1000; -quick 400)")
	flag.DurationVar(&o.ThrottleDuration, "throttle-duration", 0, "attack-throttle: length of each of its three runs (default 10s; -quick 1s)")
	flag.IntVar(&o.ThrottleFailures, "throttle-failures", 0, "attack-throttle: login_throttle ip failures per 1m window (default 10; -quick 2)")
	flag.StringVar(&o.RedisServer, "redis-server", "", "attack-throttle: redis-server binary (default: redis-server in PATH)")
	flag.BoolVar(&o.Quick, "quick", false, "smoke test: one round, short runs, small sessions and messages")
	flag.StringVar(&o.WorkDir, "workdir", "", "directory for configurations and logs (default: a temporary one, removed)")
	flag.BoolVar(&o.Keep, "keep", false, "keep the temporary work directory (configurations, logs)")
	flag.Parse()
	if flag.NArg() > 0 || o.IdleSessions > 9000 {
		fmt.Fprintln(os.Stderr, "mailbench: unexpected arguments, or -idle-sessions above 9000 (the descriptor limit)")
		os.Exit(2)
	}
	for _, p := range strings.Split(protocols, ",") {
		if p = strings.TrimSpace(p); p != "" {
			o.Protocols = append(o.Protocols, p)
		}
	}
	o.Progress = os.Stderr

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	if _, err := bench.Run(ctx, o, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "mailbench:", err)
		stop()
		os.Exit(1)
	}
}
