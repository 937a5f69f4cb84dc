package bench

import (
	"fmt"
	"io"
	"time"
)

// Options control a run. The zero value of a field means its default
// (see Defaults); Quick shrinks every default to a smoke test of a few
// seconds per figure.
type Options struct {
	Mailproxy   string // mailproxy binary (required)
	Mailload    string // mailload binary (required)
	Nginx       string // nginx binary; "" = nginx in PATH or /usr/sbin/nginx
	NginxModule string // ngx_mail_module.so; "" = from nginx -V's --modules-path
	NoNginx     bool   // measure the backend and mailproxy only
	NeedNginx   bool   // fail when nginx cannot be found, rather than run without it

	Rounds       int           // interleaved rounds per figure (3)
	Duration     time.Duration // each timed run (2s)
	Concurrency  int           // clients of the sessions/s and TLS figures (16)
	Rate         float64       // sessions per second of the paced and budget figures (1000)
	IdleSessions int           // sessions held by the idle figure (2000)
	FetchSize    int           // IMAP and POP3 message size (16 MiB)
	SMTPSize     int           // SMTP message size (1 MB)
	Protocols    []string      // of imap, pop3, smtp (all three)
	Figures      string        // comma-separated figure id prefixes, e.g. "imap-idle,pop3" ("" = all)

	// The attack figures (attack.go).
	FloodAttempts    int     // connection attempts against max_connections (20,000)
	FloodCap         int     // its max_connections (4,000)
	FloodConcurrency int     // attempts being opened at a time (256)
	IdleFlood        int     // idle connections one address opens against limit_conn (10,000)
	PerAddress       int     // the limit_conn per address (10)
	AttackRate       float64 // logins per second from another address meanwhile (200)

	// The login_throttle figure (throttle.go).
	ThrottleRate     float64       // failed logins per second from 100 addresses (1,000)
	ThrottleDuration time.Duration // each of its three runs (10s)
	ThrottleFailures int           // its ip rule's failures per window (10)
	RedisServer      string        // redis-server binary; "" = redis-server in PATH

	LogLevel   string // mailproxy's log_level (info, its default)
	EventLoops string // mailproxy's event_loops ("" = its default)
	Quick      bool   // 1 round, 200ms runs, 20 idle sessions, 1 MiB / 64 KiB messages
	WorkDir    string // where configurations and logs go ("" = a temporary directory)
	Keep       bool   // keep WorkDir afterwards

	Progress io.Writer // one line per run; nil = none
}

// withDefaults fills the zero fields.
func (o Options) withDefaults() (Options, error) {
	if o.Mailproxy == "" || o.Mailload == "" {
		return o, fmt.Errorf("bench: the mailproxy and mailload binaries are required")
	}
	def := func(v *int, normal, quick int) {
		if *v == 0 {
			*v = map[bool]int{false: normal, true: quick}[o.Quick]
		}
	}
	def(&o.Rounds, 3, 1)
	def(&o.Concurrency, 16, 16)
	def(&o.IdleSessions, 2000, 20)
	def(&o.FetchSize, 16<<20, 1<<20)
	def(&o.SMTPSize, 1e6, 64<<10)
	def(&o.FloodAttempts, 20000, 400)
	def(&o.FloodCap, 4000, 100)
	def(&o.FloodConcurrency, 256, 32)
	def(&o.IdleFlood, 10000, 500)
	def(&o.PerAddress, 10, 10)
	def(&o.ThrottleFailures, 10, 2)
	if o.ThrottleRate == 0 {
		o.ThrottleRate = map[bool]float64{false: 1000, true: 400}[o.Quick]
	}
	if o.ThrottleDuration == 0 {
		o.ThrottleDuration = map[bool]time.Duration{false: 10 * time.Second, true: time.Second}[o.Quick]
	}
	if o.AttackRate == 0 {
		o.AttackRate = map[bool]float64{false: 200, true: 100}[o.Quick]
	}
	if o.Duration == 0 {
		o.Duration = map[bool]time.Duration{false: 2 * time.Second, true: 200 * time.Millisecond}[o.Quick]
	}
	if o.Rate == 0 {
		o.Rate = map[bool]float64{false: 1000, true: 200}[o.Quick]
	}
	if len(o.Protocols) == 0 {
		o.Protocols = []string{"imap", "pop3", "smtp"}
	}
	for _, p := range o.Protocols {
		if protoNames[p] == "" {
			return o, fmt.Errorf("bench: unknown protocol %q (imap, pop3, smtp)", p)
		}
	}
	if o.LogLevel == "" {
		o.LogLevel = "info"
	}
	if o.FloodCap < 1 || o.FloodAttempts < o.FloodCap || o.FloodConcurrency < 1 || o.IdleFlood < 1 || o.PerAddress < 1 || o.AttackRate <= 0 {
		return o, fmt.Errorf("bench: the flood sizes must be positive, with at least as many attempts as the cap")
	}
	if o.ThrottleRate <= 0 || o.ThrottleDuration <= 0 || o.ThrottleFailures < 1 {
		return o, fmt.Errorf("bench: the throttle rate, duration and failures must be positive")
	}
	if o.Rounds < 1 || o.Duration <= 0 || o.Concurrency < 1 || o.Rate <= 0 || o.IdleSessions < 1 || o.FetchSize < 128 || o.SMTPSize < 128 {
		return o, fmt.Errorf("bench: rounds, duration, concurrency, rate, idle sessions must be positive and message sizes at least 128")
	}
	return o, nil
}
