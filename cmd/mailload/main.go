// Command mailload puts a bounded load on an IMAP server (mailproxy or any
// other) and reports what it measured as text. It never asserts a speed:
// the figures are for a person, or a test, to judge.
//
//	mailload -addr 127.0.0.1:1143 -user demo -pass demo -mode idle -sessions 5000 -duration 30s
//	mailload -addr 127.0.0.1:1143 -user demo -pass demo -mode logins -concurrency 16 -duration 10s
//	mailload -addr 127.0.0.1:1143 -user demo -pass demo -mode fetch -msg 1 -duration 10s
//
// Modes:
//
//	idle    open -sessions logged-in sessions (-concurrency at a time, at
//	        most -rate new ones per second), print a "ready" line, hold them
//	        for -duration (or until SIGINT/SIGTERM), then close them
//	logins  for -duration, -concurrency workers each dial, log in and log
//	        out, over and over (at most -rate logins per second in all)
//	fetch   like logins, but each session also SELECTs INBOX and FETCHes
//	        message -msg (BODY.PEEK[]), optionally checking its size and
//	        SHA-256 (-expect-size, -expect-sha256)
//
// The last line on stdout is the report: "report mode=… key=value …".
// Up to 10 distinct error messages go to stderr. The exit status is 0 when
// the run finished (whatever the figures), 2 on bad flags.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

type config struct {
	addr, user, pass string
	mode             string
	sessions         int
	duration         time.Duration
	concurrency      int
	rate             float64
	timeout          time.Duration
	msg              string
	expectSize       int
	expectSHA256     string
}

func main() {
	var cfg config
	flag.StringVar(&cfg.addr, "addr", "127.0.0.1:143", "IMAP server address host:port")
	flag.StringVar(&cfg.user, "user", "", "user name")
	flag.StringVar(&cfg.pass, "pass", "", "password")
	flag.StringVar(&cfg.mode, "mode", "logins", "idle, logins or fetch")
	flag.IntVar(&cfg.sessions, "sessions", 100, "idle: sessions to open and hold")
	flag.DurationVar(&cfg.duration, "duration", 10*time.Second, "idle: how long to hold the sessions; logins, fetch: how long to run")
	flag.IntVar(&cfg.concurrency, "concurrency", 8, "sessions being opened (idle) or workers (logins, fetch) at a time")
	flag.Float64Var(&cfg.rate, "rate", 0, "most new sessions per second in all; 0 = as fast as possible")
	flag.DurationVar(&cfg.timeout, "timeout", 10*time.Second, "deadline of each dial, login and command")
	flag.StringVar(&cfg.msg, "msg", "1", "fetch: message sequence number to FETCH")
	flag.IntVar(&cfg.expectSize, "expect-size", 0, "fetch: the message's size in bytes; another size is an error (0 = any)")
	flag.StringVar(&cfg.expectSHA256, "expect-sha256", "", "fetch: the message's SHA-256, hex; another digest is an error")
	flag.Parse()
	if cfg.user == "" || cfg.concurrency < 1 || cfg.sessions < 0 || cfg.duration <= 0 || cfg.timeout <= 0 || cfg.rate < 0 {
		fmt.Fprintln(os.Stderr, "mailload: -user is required; -concurrency, -duration and -timeout must be positive")
		os.Exit(2)
	}
	run := map[string]func(context.Context, config, *stats){"idle": runIdle, "logins": runLogins, "fetch": runFetch}[cfg.mode]
	if run == nil {
		fmt.Fprintf(os.Stderr, "mailload: unknown -mode %q (idle, logins, fetch)\n", cfg.mode)
		os.Exit(2)
	}
	nofile := raiseNofile()

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	st := &stats{start: time.Now()}
	run(ctx, cfg, st)
	st.report(os.Stdout, cfg, nofile)
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
	return lim.Cur
}

// stats gathers the figures of a run; safe for concurrent use.
type stats struct {
	start             time.Time
	ok, errs          atomic.Int64 // completed and failed operations
	logins            atomic.Int64
	held, dropped     atomic.Int64 // idle: sessions held at the end, lost while held
	bytesIn, bytesOut atomic.Int64
	bodies, bodyBytes atomic.Int64 // fetch: verified messages and their bytes
	mu                sync.Mutex
	lat               []time.Duration
	errMsgs           map[string]int
	elapsed           time.Duration // the measured phase
}

const maxSamples = 1 << 20

func (s *stats) sample(d time.Duration) {
	s.mu.Lock()
	if len(s.lat) < maxSamples {
		s.lat = append(s.lat, d)
	}
	s.mu.Unlock()
}

func (s *stats) fail(err error) {
	s.errs.Add(1)
	s.mu.Lock()
	if s.errMsgs == nil {
		s.errMsgs = map[string]int{}
	}
	if _, ok := s.errMsgs[err.Error()]; ok || len(s.errMsgs) < 10 {
		s.errMsgs[err.Error()]++
	}
	s.mu.Unlock()
}

func (s *stats) report(w io.Writer, cfg config, nofile uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for m, n := range s.errMsgs {
		fmt.Fprintf(os.Stderr, "mailload: error (%d times): %s\n", n, m)
	}
	el := s.elapsed
	if el == 0 {
		el = time.Since(s.start)
	}
	slices.Sort(s.lat)
	pct := func(p float64) time.Duration {
		if len(s.lat) == 0 {
			return 0
		}
		return s.lat[min(len(s.lat)-1, int(p*float64(len(s.lat))))]
	}
	fmt.Fprintf(w, "report mode=%s elapsed=%.2fs ok=%d errors=%d logins=%d logins_per_s=%.1f held=%d dropped=%d p50=%s p99=%s max=%s bytes_in=%d bytes_out=%d bodies=%d body_bytes=%d nofile=%d\n",
		cfg.mode, el.Seconds(), s.ok.Load(), s.errs.Load(), s.logins.Load(), float64(s.logins.Load())/el.Seconds(),
		s.held.Load(), s.dropped.Load(), pct(0.50).Round(time.Microsecond), pct(0.99).Round(time.Microsecond),
		pct(1).Round(time.Microsecond), s.bytesIn.Load(), s.bytesOut.Load(), s.bodies.Load(), s.bodyBytes.Load(), nofile)
}

// limiter hands out at most rate tokens per second; a nil limiter never
// waits.
type limiter struct {
	mu   sync.Mutex
	next time.Time
	gap  time.Duration
}

func newLimiter(rate float64) *limiter {
	if rate <= 0 {
		return nil
	}
	return &limiter{next: time.Now(), gap: time.Duration(float64(time.Second) / rate)}
}

// wait blocks until the next token or ctx ends; false if ctx ended.
func (l *limiter) wait(ctx context.Context) bool {
	if l == nil {
		return ctx.Err() == nil
	}
	l.mu.Lock()
	now := time.Now()
	if l.next.Before(now) {
		l.next = now
	}
	at := l.next
	l.next = l.next.Add(l.gap)
	l.mu.Unlock()
	t := time.NewTimer(time.Until(at))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// countConn counts the bytes through a connection into st.
type countConn struct {
	net.Conn
	st *stats
}

func (c countConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.st.bytesIn.Add(int64(n))
	return n, err
}

func (c countConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.st.bytesOut.Add(int64(n))
	return n, err
}

// session is one IMAP client connection.
type session struct {
	c       net.Conn
	r       *bufio.Reader
	timeout time.Duration
	tag     int
}

// quote makes s an IMAP quoted string.
func quote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// dialLogin connects, reads the greeting and logs in; on success it counts
// a login and records its latency (dial to tagged OK).
func dialLogin(ctx context.Context, cfg config, st *stats) (*session, error) {
	t0 := time.Now()
	d := net.Dialer{Timeout: cfg.timeout}
	c, err := d.DialContext(ctx, "tcp", cfg.addr)
	if err != nil {
		return nil, fmt.Errorf("dial: %w", err)
	}
	s := &session{c: countConn{c, st}, timeout: cfg.timeout}
	s.r = bufio.NewReader(s.c)
	s.c.SetDeadline(time.Now().Add(cfg.timeout))
	l, err := s.r.ReadString('\n')
	if err != nil || !strings.HasPrefix(l, "* OK") {
		c.Close()
		return nil, fmt.Errorf("greeting %q: %v", strings.TrimSpace(l), err)
	}
	if _, err := s.command("LOGIN "+quote(cfg.user)+" "+quote(cfg.pass), nil); err != nil {
		c.Close()
		return nil, fmt.Errorf("login: %w", err)
	}
	s.c.SetDeadline(time.Time{})
	st.logins.Add(1)
	if cfg.mode != "fetch" { // fetch samples the FETCH instead
		st.sample(time.Since(t0))
	}
	return s, nil
}

// command sends one command and reads to its tagged reply, which must be
// OK. literal, when not nil, is given the reader and the size of each
// literal announced at the end of an untagged line, and must consume it.
func (s *session) command(cmd string, literal func(r io.Reader, n int64) error) (string, error) {
	s.tag++
	tag := fmt.Sprintf("m%d", s.tag)
	s.c.SetDeadline(time.Now().Add(s.timeout))
	if _, err := io.WriteString(s.c, tag+" "+cmd+"\r\n"); err != nil {
		return "", err
	}
	for {
		l, err := s.r.ReadString('\n')
		if err != nil {
			return "", err
		}
		if strings.HasPrefix(l, tag+" ") {
			if !strings.HasPrefix(l[len(tag)+1:], "OK") {
				return l, errors.New(strings.TrimSpace(l))
			}
			return l, nil
		}
		if n, ok := literalSize(l); ok {
			if literal == nil {
				literal = func(r io.Reader, n int64) error { _, err := io.CopyN(io.Discard, r, n); return err }
			}
			if err := literal(s.r, n); err != nil {
				return "", err
			}
		}
	}
}

// literalSize reports the size of a literal announced at the end of l.
func literalSize(l string) (int64, bool) {
	l = strings.TrimRight(l, "\r\n")
	if !strings.HasSuffix(l, "}") {
		return 0, false
	}
	i := strings.LastIndexByte(l, '{')
	if i < 0 {
		return 0, false
	}
	var n int64
	if _, err := fmt.Sscanf(strings.TrimSuffix(l[i+1:len(l)-1], "+"), "%d", &n); err != nil {
		return 0, false
	}
	return n, true
}

// logout ends a session politely, ignoring what the server says.
func (s *session) logout() {
	s.command("LOGOUT", nil)
	s.c.Close()
}

// workers runs fn in n goroutines until ctx ends (each call is one
// operation, started after a limiter token) and records the elapsed time.
func workers(ctx context.Context, cfg config, st *stats, fn func(context.Context) error) {
	lim := newLimiter(cfg.rate)
	var wg sync.WaitGroup
	for range cfg.concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for lim.wait(ctx) {
				if err := fn(ctx); err != nil {
					if ctx.Err() != nil {
						return // cut by the end of the run
					}
					st.fail(err)
					continue
				}
				st.ok.Add(1)
			}
		}()
	}
	wg.Wait()
	st.elapsed = time.Since(st.start)
}
