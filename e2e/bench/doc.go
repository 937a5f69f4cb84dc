// Package bench is the side-by-side benchmark behind `make bench` and
// e2e/cmd/mailbench: it starts fast in-memory IMAP, POP3 and SMTP
// backends and a fast auth_http service in this process, nginx with its
// mail module and mailproxy (and, for attack-throttle, redis-server) as
// child processes on free loopback ports, drives each target (the backend
// directly, nginx, mailproxy) with e2e/cmd/mailload in interleaved
// rounds, reads the proxies' CPU time,
// memory and descriptors from /proc, and prints medians, spreads and the
// ratios against their targets.
//
// It measures and reports; it never fails on a figure. Every process it
// starts is stopped by PID before Run returns, whatever happened.
package bench
