// Command mailload puts a bounded load on an IMAP, POP3 or SMTP server
// (mailproxy, nginx or a backend) and reports what it measured as text. It
// never asserts a speed: the figures are for a person, or a test, to judge.
//
//	mailload -addr 127.0.0.1:1143 -user demo -pass demo -mode idle -sessions 5000 -duration 30s
//	mailload -addr 127.0.0.1:1143 -user demo -pass demo -mode logins -concurrency 16 -duration 10s
//	mailload -addr 127.0.0.1:1143 -user demo -pass demo -mode logins -noop -rate 1000 -concurrency 64 -duration 10s
//	mailload -addr 127.0.0.1:1143 -user demo -pass demo -mode fetch -msg 1 -duration 10s
//	mailload -proto pop3 -tls -addr 127.0.0.1:1995 -user demo -pass demo -mode fetch
//	mailload -proto smtp -addr 127.0.0.1:1587 -user demo -pass demo -mode fetch -size 1048576
//
// Protocols (-proto): imap (LOGIN), pop3 (USER/PASS), smtp (EHLO, AUTH
// PLAIN); -tls speaks implicit TLS, a full handshake per session (no
// resumption, the certificate is not checked). -bind makes every
// connection come from one source address (127.0.0.2…: loopback has
// them all), or from the addresses of a prefix in turn; -bind-count N
// narrows a prefix to its first N addresses after its own (127.2.0.0/25
// with -bind-count 100: 127.2.0.1 to 127.2.0.100).
//
// Modes:
//
//	idle    open -sessions logged-in sessions (-concurrency at a time, at
//	        most -rate new ones per second), print a "ready" line, hold them
//	        for -duration (or until SIGINT/SIGTERM), then close them
//	logins  for -duration, -concurrency workers each dial, log in, send a
//	        NOOP when -noop is given, and log out, over and over; with
//	        -rate, sessions start on a fixed schedule of -rate per second
//	        in all (an open loop: a late session's latency counts from the
//	        time it was due)
//	flood   make -sessions connection attempts (-concurrency being opened
//	        at a time, at most -rate per second): hold those the server
//	        greets (logged in with -login, else idle before login), count
//	        those it refuses with a "try later" first line (IMAP "* BYE",
//	        POP3 "-ERR", SMTP 421) and the time that reply took; print a
//	        "ready" line (held, served, refused, closed, refuse_p50/p99),
//	        hold for -duration (or until SIGINT/SIGTERM), then close
//	fail    like logins with -rate, but every login is expected to be
//	        refused (a wrong -pass): each attempt connects, logs in as
//	        the next of the -users names (-user followed by 0 to N-1),
//	        counts the refusal (IMAP NO, POP3 -ERR, SMTP 535) as failed
//	        and hangs up; an accepted login is an error
//	fetch   like logins, but each session also moves one message: IMAP
//	        SELECTs INBOX and FETCHes message -msg (BODY.PEEK[]), POP3
//	        RETRieves message -msg, SMTP sends a message of -size bytes
//	        (MAIL, RCPT, DATA); -expect-size and -expect-sha256 check what
//	        IMAP and POP3 receive (POP3: the bytes before the final ".")
//
// The last line on stdout is the report: "report mode=… key=value …".
// p50/p99/max are login latencies (dial to the login's OK; fetch: the
// transfer's), sess_p50/sess_p99 whole sessions (dial, or the time a paced
// session was due, to the end of the logout). Up to 10 distinct error
// messages go to stderr. The exit status is 0 when the run finished
// (whatever the figures), 2 on bad flags.
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"syscall"
	"time"
)

type config struct {
	addr, user, pass string
	proto            string
	tls              bool
	noop             bool
	mode             string
	sessions         int
	duration         time.Duration
	concurrency      int
	rate             float64
	timeout          time.Duration
	msg              string
	size             int
	expectSize       int
	expectSHA256     string
	bind             string       // source address of every connection, or a prefix
	bindPrefix       netip.Prefix // -bind as an IPv4 prefix
	bindCount        int          // -bind-count: the prefix's first addresses only (0: all)
	users            int          // fail: user names -user0 … -user(N-1) in turn (0: -user)
	floodLogin       bool         // flood: log in the connections greeted

	client  protocol // the client side of proto
	message []byte   // smtp fetch: the message to send, dot-terminated
}

func main() {
	var cfg config
	flag.StringVar(&cfg.addr, "addr", "127.0.0.1:143", "server address host:port")
	flag.StringVar(&cfg.user, "user", "", "user name")
	flag.StringVar(&cfg.pass, "pass", "", "password")
	flag.StringVar(&cfg.proto, "proto", "imap", "imap, pop3 or smtp")
	flag.BoolVar(&cfg.tls, "tls", false, "implicit TLS: a full handshake per session, the certificate not checked")
	flag.BoolVar(&cfg.noop, "noop", false, "logins: send a NOOP after each login")
	flag.StringVar(&cfg.mode, "mode", "logins", "idle, logins, fail, flood or fetch")
	flag.IntVar(&cfg.sessions, "sessions", 100, "idle: sessions to open and hold")
	flag.DurationVar(&cfg.duration, "duration", 10*time.Second, "idle: how long to hold the sessions; logins, fail, fetch: how long to run")
	flag.IntVar(&cfg.concurrency, "concurrency", 8, "sessions being opened (idle) or workers (logins, fail, fetch) at a time")
	flag.Float64Var(&cfg.rate, "rate", 0, "most new sessions per second in all; 0 = as fast as possible")
	flag.DurationVar(&cfg.timeout, "timeout", 10*time.Second, "deadline of each dial, login and command")
	flag.StringVar(&cfg.msg, "msg", "1", "fetch: message sequence number to FETCH (imap) or RETR (pop3)")
	flag.IntVar(&cfg.size, "size", 1<<20, "fetch, smtp: size in bytes of the message to send")
	flag.IntVar(&cfg.expectSize, "expect-size", 0, "fetch: the message's size in bytes; another size is an error (0 = any)")
	flag.StringVar(&cfg.expectSHA256, "expect-sha256", "", "fetch: the message's SHA-256, hex; another digest is an error")
	flag.StringVar(&cfg.bind, "bind", "", "source IP address of every connection (e.g. 127.0.0.2), or an IPv4 prefix whose addresses the connections take in turn (e.g. 127.1.0.0/16); empty: the system's choice")
	flag.IntVar(&cfg.bindCount, "bind-count", 0, "with a -bind prefix: use only its first N addresses after its own, in turn (0 = all)")
	flag.IntVar(&cfg.users, "users", 0, "fail: log in as -user followed by 0 to N-1 in turn (0 = -user itself)")
	flag.BoolVar(&cfg.floodLogin, "login", false, "flood: log in the connections the server greets (else they stay idle before login)")
	flag.Parse()
	if cfg.user == "" || cfg.concurrency < 1 || cfg.sessions < 0 || cfg.duration <= 0 || cfg.timeout <= 0 || cfg.rate < 0 || cfg.size < 0 {
		fmt.Fprintln(os.Stderr, "mailload: -user is required; -concurrency, -duration and -timeout must be positive")
		os.Exit(2)
	}
	if err := cfg.parseBind(); err != nil {
		fmt.Fprintln(os.Stderr, "mailload:", err)
		os.Exit(2)
	}
	if cfg.users < 0 {
		fmt.Fprintln(os.Stderr, "mailload: -users must not be negative")
		os.Exit(2)
	}
	run := map[string]func(context.Context, config, *stats){"idle": runIdle, "logins": runLogins, "fail": runFail, "fetch": runFetch, "flood": runFlood}[cfg.mode]
	if run == nil || cfg.mode == "flood" && cfg.tls {
		fmt.Fprintf(os.Stderr, "mailload: unknown -mode %q (idle, logins, fail, fetch, flood; flood without -tls)\n", cfg.mode)
		os.Exit(2)
	}
	cfg.client = protocols[cfg.proto]
	if cfg.client == nil {
		fmt.Fprintf(os.Stderr, "mailload: unknown -proto %q (imap, pop3, smtp)\n", cfg.proto)
		os.Exit(2)
	}
	if cfg.proto == "smtp" && cfg.mode == "fetch" {
		cfg.message = smtpMessage(cfg.size)
	}
	nofile := raiseNofile()

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	st := &stats{start: time.Now()}
	run(ctx, cfg, st)
	st.report(os.Stdout, cfg, nofile)
}

// parseBind reads -bind (an address or an IPv4 prefix) and -bind-count,
// which needs a prefix with more addresses than the count.
func (cfg *config) parseBind() error {
	if p, err := netip.ParsePrefix(cfg.bind); err == nil && p.Addr().Is4() {
		cfg.bindPrefix = p.Masked()
	} else if cfg.bind != "" && net.ParseIP(cfg.bind) == nil {
		return fmt.Errorf("-bind %q is not an IP address or an IPv4 prefix", cfg.bind)
	}
	switch {
	case cfg.bindCount < 0:
		return fmt.Errorf("-bind-count %d is negative", cfg.bindCount)
	case cfg.bindCount > 0 && !cfg.bindPrefix.IsValid():
		return fmt.Errorf("-bind-count needs an IPv4 prefix in -bind, not %q", cfg.bind)
	case cfg.bindCount > 0 && uint64(cfg.bindCount) >= uint64(1)<<(32-cfg.bindPrefix.Bits()):
		return fmt.Errorf("-bind-count %d: %s has only %d addresses after its own", cfg.bindCount, cfg.bindPrefix, uint64(1)<<(32-cfg.bindPrefix.Bits())-1)
	}
	return nil
}

// raiseNofile raises the soft RLIMIT_NOFILE to the hard limit and returns
// the soft limit in force.
func raiseNofile() uint64 {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0
	}
	if lim.Cur < lim.Max {
		lim.Cur = lim.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
			fmt.Fprintf(os.Stderr, "mailload: setrlimit: %v\n", err)
			syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim)
		}
	}
	return uint64(lim.Cur) // int64 on FreeBSD
}
