package bench

import (
	"context"
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The login_throttle figure: a password-guessing attack from
// throttleAddrs addresses (each guess a connection: LOGIN as a user name
// never tried before, with the password the auth service refuses, which
// it answers without Auth-Wait, so the proxy replies and closes) while
// other addresses log in, on three fresh mailproxy instances: without
// login_throttle, with it in memory, and with it in a redis-server the
// bench starts. The auth service counts what reaches it per Client-IP.

// throttleAddrs is how many addresses the attack comes from: 127.2.0.1
// to 127.2.0.100 (throttlePrefix with mailload's -bind-count).
const (
	throttleAddrs  = 100
	throttlePrefix = "127.2.0.0/25"
)

// The ip rule's window and block, and the other two rules: user names
// are never repeated by the attack, so the ip rule is the one that
// bounds it; the others are set so that their cost is measured.
const (
	throttleWindow = time.Minute
	throttleBlock  = 5 * time.Minute
	throttleOthers = "    user: {failures: 30, window: 15m, block: 15m}\n    user_ip: {failures: 5, window: 5m, block: 5m}\n"
)

// throttleRuns are the three runs of a round, in order: the key of their
// figures, and the store line of their login_throttle ("-": none).
var throttleRuns = []struct{ key, store string }{{"none", "-"}, {"memory", ""}, {"redis", "redis"}}

// throttleBound is how many guesses one attack address may get to the
// auth service in a run of o.ThrottleDuration: the ip rule's failures in
// each window the run spans (a block lasts at least a window).
func throttleBound(o Options) int {
	return o.ThrottleFailures * int(math.Ceil(o.ThrottleDuration.Seconds()/throttleWindow.Seconds()))
}

// throttleFigure is the attack-throttle figure.
func throttleFigure(o Options) figure {
	per := throttleBound(o)
	title := fmt.Sprintf("IMAP password guessing: %s failed logins/s from %d addresses for %s (a connection each), %g logins/s from other addresses; "+
		"login_throttle ip {failures: %d, window: %s, block: %s}, user {30, 15m, 15m}, user_ip {5, 5m, 5m}: off, in memory, in Redis",
		thousands(int(o.ThrottleRate)), throttleAddrs, o.ThrottleDuration, o.AttackRate, o.ThrottleFailures, shortDuration(throttleWindow), shortDuration(throttleBlock))
	le := func(v float64) []check { return []check{{atMost: true, factor: v}} }
	return figure{
		id: "attack-throttle", service: "imap", targets: []string{mailproxy}, title: title, custom: (*bench).measureThrottle,
		metrics: []metric{
			{label: "guesses made, per run", value: extra("attempts")},
			{label: "guesses at auth, off", value: extra("none_auth")},
			{label: "guesses at auth, in memory", value: extra("memory_auth"), checks: le(float64(per * throttleAddrs))},
			{label: "guesses at auth, in Redis", value: extra("redis_auth"), checks: le(float64(per * throttleAddrs))},
			{label: "most from one address, memory", value: extra("memory_auth_max"), checks: le(float64(per))},
			{label: "most from one address, Redis", value: extra("redis_auth_max"), checks: le(float64(per))},
			{label: "guesses throttled, in memory", value: extra("memory_throttled")},
			{label: "guesses throttled, in Redis", value: extra("redis_throttled")},
			{label: "attack errors (not refused)", value: extra("attack_errors"), checks: le(0)},
			{label: "legitimate logins failed", value: extra("login_errors"), checks: le(0)},
			{label: "legitimate p99, off (ms)", digits: 2, value: extra("none_p99_ms")},
			{label: "legitimate p99, in memory (ms)", digits: 2, value: extra("memory_p99_ms")},
			{label: "legitimate p99, in Redis (ms)", digits: 2, value: extra("redis_p99_ms")},
			{label: "p99 in memory ÷ off", digits: 2, value: extra("memory_p99_ratio"), checks: le(1.1)},
			{label: "p99 in Redis ÷ off", digits: 2, value: extra("redis_p99_ratio"), checks: le(1.1)},
			{label: "proxy CPU per login, off (µs)", value: extra("none_cpu_us")},
			{label: "proxy CPU per login, memory (µs)", value: extra("memory_cpu_us")},
			{label: "proxy CPU per login, Redis (µs)", value: extra("redis_cpu_us")},
			{label: "CPU in memory ÷ off", digits: 2, value: extra("memory_cpu_ratio"), checks: le(1.1)},
			{label: "CPU in Redis ÷ off", digits: 2, value: extra("redis_cpu_ratio"), checks: le(1.1)},
			{label: "redis-server CPU per login (µs)", value: extra("redis_server_cpu_us")},
		},
	}
}

// throttleConfig is the mail-level YAML of a run with store ("-": no
// login_throttle; "": in memory; else the store URL).
func throttleConfig(o Options, store string) string {
	if store == "-" {
		return ""
	}
	var b strings.Builder
	b.WriteString("  login_throttle:\n")
	if store != "" {
		fmt.Fprintf(&b, "    store: %s\n", store)
	}
	fmt.Fprintf(&b, "    ip: {failures: %d, window: %s, block: %s}\n%s", o.ThrottleFailures, shortDuration(throttleWindow), shortDuration(throttleBlock), throttleOthers)
	return b.String()
}

// shortDuration writes 5m0s as "5m" (a configuration's spelling too).
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// attackAddrs are the attack's source addresses, as the auth service's
// Client-IP.
func attackAddrs() []string {
	p := netip.MustParsePrefix(throttlePrefix)
	out := make([]string, 0, throttleAddrs)
	a := p.Addr()
	for range throttleAddrs {
		a = a.Next()
		out = append(out, a.String())
	}
	return out
}

// measureThrottle measures the three runs of a round, each on a fresh
// mailproxy: the attack and the paced legitimate logins at once for
// o.ThrottleDuration, the proxy's CPU time over them, and what the auth
// service saw from the attack's addresses. The Redis run starts its own
// redis-server; when it cannot, the other two runs are still reported,
// with the error.
func (b *bench) measureThrottle(ctx context.Context, f figure, _ *target) (*sample, string) {
	s := &sample{proxy: true, extra: map[string]float64{}}
	var errs []string
	var attackErrs, loginErrs float64
	for _, run := range throttleRuns {
		store := run.store
		var redisPID int
		if store == "redis" {
			r, err := b.startRedis(ctx)
			if err != nil {
				errs = append(errs, "Redis run: "+err.Error())
				break
			}
			defer r.stop()
			store, redisPID = "redis://"+r.addr+"/0", r.c.pid()
		}
		res, errText := b.throttleRun(ctx, f, throttleConfig(b.o, store), redisPID)
		if errText != "" {
			errs = append(errs, run.key+" run: "+errText)
		}
		if res == nil {
			continue
		}
		k := run.key + "_"
		if _, ok := s.extra["attempts"]; !ok {
			s.extra["attempts"] = res.attack.num("ok") + res.attack.num("errors")
		}
		s.extra[k+"auth"] = float64(res.authSaw)
		s.extra[k+"auth_max"] = float64(res.authMax)
		s.extra[k+"throttled"] = res.attack.num("failed") - float64(res.authSaw)
		s.extra[k+"p99_ms"] = res.legit.num("sess_p99") * 1000
		if n := res.attack.num("ok") + res.attack.num("errors") + res.legit.num("logins"); n > 0 {
			s.extra[k+"cpu_us"] = res.cpu.Seconds() * 1e6 / n
			if redisPID != 0 {
				s.extra["redis_server_cpu_us"] = res.storeCPU.Seconds() * 1e6 / n
			}
		}
		attackErrs += res.attack.num("errors")
		loginErrs += res.legit.num("errors")
		s.rep = res.legit
	}
	if _, ok := s.extra["none_p99_ms"]; !ok && len(errs) == 0 {
		errs = append(errs, "the run without login_throttle measured nothing")
	}
	for _, k := range []string{"memory", "redis"} {
		if base := s.extra["none_p99_ms"]; base > 0 {
			if v, ok := s.extra[k+"_p99_ms"]; ok {
				s.extra[k+"_p99_ratio"] = v / base
			}
		}
		if base := s.extra["none_cpu_us"]; base > 0 {
			if v, ok := s.extra[k+"_cpu_us"]; ok {
				s.extra[k+"_cpu_ratio"] = v / base
			}
		}
	}
	s.extra["attack_errors"], s.extra["login_errors"] = attackErrs, loginErrs
	if s.rep == nil {
		return nil, strings.Join(errs, "; ")
	}
	return s, strings.Join(errs, "; ")
}

// throttleResult is what one run of the figure measured.
type throttleResult struct {
	attack, legit report
	cpu, storeCPU time.Duration // the proxy's, and redis-server's
	authSaw       int64         // requests the auth service answered from the attack's addresses
	authMax       int64         // the most from one of them
}

// throttleRun is one run on a fresh mailproxy with mail-level YAML
// mail; storePID, when not 0, is the redis-server whose CPU time is
// measured too.
func (b *bench) throttleRun(ctx context.Context, f figure, mail string, storePID int) (*throttleResult, string) {
	t, stop, err := b.spawnWith(ctx, mailproxy, "", mail)
	if err != nil {
		return nil, err.Error()
	}
	defer stop()
	addr, dur := t.addrs[f.service], b.o.ThrottleDuration
	attack := []string{"-addr=" + addr, "-user=guess", "-users=1000000000", "-pass=" + wrongPass, "-timeout=20s", "-proto=imap", "-mode=fail",
		"-rate=" + strconv.FormatFloat(b.o.ThrottleRate, 'f', -1, 64), "-concurrency=256", "-duration=" + dur.String(),
		"-bind=" + throttlePrefix, "-bind-count=" + strconv.Itoa(throttleAddrs)}
	legit := []string{"-addr=" + addr, "-user=bench", "-pass=bench", "-timeout=20s", "-proto=imap", "-mode=logins", "-noop",
		"-rate=" + strconv.FormatFloat(b.o.AttackRate, 'f', -1, 64), "-concurrency=64", "-duration=" + dur.String(), "-bind=127.1.0.0/16"}
	_, before := b.authSvc.counts()
	cpu0, store0 := treeCPU(t.pid), time.Duration(0)
	if storePID != 0 {
		store0 = treeCPU(storePID)
	}
	r := &throttleResult{}
	var wg sync.WaitGroup
	var attackErr error
	var attackStderr string
	wg.Add(1)
	go func() {
		defer wg.Done()
		r.attack, attackStderr, attackErr = b.load.run(ctx, attack, dur+60*time.Second)
	}()
	legitRep, legitStderr, legitErr := b.load.run(ctx, legit, dur+60*time.Second)
	wg.Wait()
	r.cpu = treeCPU(t.pid) - cpu0
	if storePID != 0 {
		r.storeCPU = treeCPU(storePID) - store0
	}
	r.legit = legitRep
	for _, err := range []error{attackErr, legitErr} {
		if err != nil {
			return nil, err.Error()
		}
	}
	_, after := b.authSvc.counts()
	for _, a := range attackAddrs() {
		n := after[a] - before[a]
		r.authSaw += n
		r.authMax = max(r.authMax, n)
	}
	return r, firstLine(attackStderr + legitStderr)
}
