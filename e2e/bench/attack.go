package bench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The "under attack" figures measure mailproxy alone (nginx 1.22 has no
// limit_conn; its worker_connections only stops accepting), each on a
// fresh instance configured for the attack: a connection flood against
// max_connections, and one address opening thousands of idle connections
// against limit_conn while other addresses log in.

// attackFigures returns the figures of o's attack options.
func attackFigures(o Options) []figure {
	capTitle := fmt.Sprintf("IMAP flood: %s connection attempts (%d at a time) against max_connections %s, the greeted logging in and holding",
		thousands(o.FloodAttempts), o.FloodConcurrency, thousands(o.FloodCap))
	addrTitle := fmt.Sprintf("IMAP from one address: %s idle connections before login against limit_conn %d per address, %g logins/s from other addresses",
		thousands(o.IdleFlood), o.PerAddress, o.AttackRate)
	return []figure{
		{
			id: "attack-cap", service: "imap", targets: []string{mailproxy}, title: capTitle, custom: (*bench).measureCapFlood,
			metrics: []metric{
				{label: "clients logged in and held", value: extra("held"), checks: []check{{factor: float64(o.FloodCap)}}},
				{label: "refused with the try-later reply", value: extra("refused"), checks: []check{{factor: float64(o.FloodAttempts - o.FloodCap)}}},
				{label: "closed without a reply, errors", value: extra("lost")},
				{label: "p50 time to the reply (ms)", digits: 2, value: extra("refuse_p50_ms")},
				{label: "p99 time to the reply (ms)", digits: 2, value: extra("refuse_p99_ms"), checks: []check{{atMost: true, factor: 1000}}},
				{label: "proxy RSS growth (MiB)", digits: 1, value: extra("rss_mib")},
				{label: "proxy RSS per held session (KiB)", digits: 1, value: extra("rss_per_held_kib")},
				{label: "proxy CPU during the flood (s)", digits: 2, value: extra("flood_cpu_s")},
				{label: "proxy CPU, holding after (ms/s)", digits: 1, value: extra("idle_cpu_ms_per_s"), checks: []check{{atMost: true, factor: 10}}},
			},
		},
		{
			id: "attack-addr", service: "imap", targets: []string{mailproxy}, title: addrTitle, custom: (*bench).measureAddrFlood,
			metrics: []metric{
				{label: "p99 session, no attack (ms)", digits: 2, value: extra("base_p99_ms")},
				{label: "p99 session, during flood (ms)", digits: 2, value: extra("attack_p99_ms")},
				{label: "p99 session, after it (ms)", digits: 2, value: extra("after_p99_ms")},
				{label: "p99 during ÷ no attack", digits: 2, value: extra("p99_ratio")},
				{label: "p99 after ÷ no attack", digits: 2, value: extra("after_ratio"), checks: []check{{atMost: true, factor: 1.25}}},
				{label: "logins failed (all runs)", value: extra("login_errors"), checks: []check{{atMost: true, factor: 0}}},
				{label: "attacker's connections held", value: extra("held"), checks: []check{{atMost: true, factor: float64(o.PerAddress)}}},
				{label: "attacker's connections refused", value: extra("refused")},
				{label: "p99 time to the refusal (ms)", digits: 2, value: extra("refuse_p99_ms")},
				{label: "proxy CPU per connection (µs)", digits: 0, value: extra("cpu_per_conn_us")},
			},
		},
	}
}

// extra reads a value a custom measurement stored.
func extra(k string) func(sample) (float64, bool) {
	return func(s sample) (float64, bool) {
		v, ok := s.extra[k]
		return v, ok
	}
}

// thousands writes 20000 as "20,000".
func thousands(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// measureCapFlood: a fresh mailproxy with max_connections; mailload makes
// the attempts, logs in the greeted and holds them; then the proxy's
// memory, and its CPU over two quiet seconds, are read.
func (b *bench) measureCapFlood(ctx context.Context, f figure, _ *target) (*sample, string) {
	t, stop, err := b.spawnWith(ctx, mailproxy, fmt.Sprintf("max_connections: %d\n", b.o.FloodCap), "")
	if err != nil {
		return nil, err.Error()
	}
	defer stop()
	s := &sample{proxy: true, extra: map[string]float64{}}
	rss0, cpu0 := treeRSS(t.pid), treeCPU(t.pid)
	args := []string{"-addr=" + t.addrs[f.service], "-user=bench", "-pass=bench", "-timeout=30s", "-proto=imap", "-mode=flood", "-login",
		"-sessions=" + strconv.Itoa(b.o.FloodAttempts), "-concurrency=" + strconv.Itoa(b.o.FloodConcurrency), "-duration=10m"}
	rep, stderr, err := b.load.hold(ctx, args, 5*time.Minute, func(ready report) {
		s.ready = ready
		time.Sleep(300 * time.Millisecond)
		s.extra["flood_cpu_s"] = (treeCPU(t.pid) - cpu0).Seconds()
		s.extra["rss_mib"] = float64(treeRSS(t.pid)-rss0) / 1024
		c0 := treeCPU(t.pid)
		time.Sleep(2 * time.Second)
		s.extra["idle_cpu_ms_per_s"] = float64((treeCPU(t.pid) - c0).Milliseconds()) / 2
	})
	if err != nil {
		return nil, err.Error()
	}
	if s.ready == nil {
		return nil, "the flood did not end in time"
	}
	s.rep = rep
	held := s.ready.num("held")
	s.extra["held"] = held
	s.extra["refused"] = s.ready.num("refused")
	s.extra["lost"] = s.ready.num("closed") + s.ready.num("errors")
	s.extra["refuse_p50_ms"] = s.ready.num("refuse_p50") * 1000
	s.extra["refuse_p99_ms"] = s.ready.num("refuse_p99") * 1000
	if held > 0 {
		s.extra["rss_per_held_kib"] = s.extra["rss_mib"] * 1024 / held
	}
	return s, firstLine(stderr)
}

// measureAddrFlood: a fresh mailproxy with a limit_conn of o.PerAddress
// per client address; paced logins from 127.1.0.0/16 (each from an
// address of its own, in turn) are timed alone, then while 127.0.0.1
// makes o.IdleFlood connection attempts spread over the run (keeping
// idle before login those it is let hold), then once more after the
// flood, the attacker holding what it kept.
func (b *bench) measureAddrFlood(ctx context.Context, f figure, _ *target) (*sample, string) {
	t, stop, err := b.spawnWith(ctx, mailproxy, "limit_conn_zone: [{key: $remote_addr, zone: \"addr:10m\"}]\n",
		fmt.Sprintf("  limit_conn: [{zone: addr, number: %d}]\n", b.o.PerAddress))
	if err != nil {
		return nil, err.Error()
	}
	defer stop()
	addr := t.addrs[f.service]
	dur := b.o.Duration * 2
	paced := []string{"-addr=" + addr, "-user=bench", "-pass=bench", "-timeout=20s", "-proto=imap", "-mode=logins", "-noop",
		"-rate=" + strconv.FormatFloat(b.o.AttackRate, 'f', -1, 64), "-concurrency=64", "-duration=" + dur.String(), "-bind=127.1.0.0/16"}
	s := &sample{proxy: true, extra: map[string]float64{}}
	base, stderr, err := b.load.run(ctx, paced, dur+60*time.Second)
	if err != nil {
		return nil, err.Error()
	}
	// The attack: the attempts spread over the timed run, held to its end.
	floodRate := float64(b.o.IdleFlood) / dur.Seconds()
	flood := b.load.command(ctx, []string{"-addr=" + addr, "-user=bench", "-pass=bench", "-timeout=20s", "-proto=imap", "-mode=flood",
		"-sessions=" + strconv.Itoa(b.o.IdleFlood), "-concurrency=256", "-rate=" + strconv.FormatFloat(floodRate, 'f', 1, 64),
		"-duration=10m", "-bind=127.0.0.1"})
	var floodErr bytes.Buffer
	flood.Stderr = &floodErr
	flood.SysProcAttr = childAttr(syscall.SIGKILL)
	out, err := flood.StdoutPipe()
	if err != nil {
		return nil, err.Error()
	}
	cpu0 := treeCPU(t.pid)
	if err := flood.Start(); err != nil {
		return nil, err.Error()
	}
	ready := make(chan report, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "ready ") {
				ready <- parseLine(sc.Text())
			}
		}
		close(ready)
	}()
	attack, stderr2, err := b.load.run(ctx, paced, dur+60*time.Second)
	var fr report
	select {
	case fr = <-ready: // every attempt made: the attack lasted the whole run
	case <-time.After(30 * time.Second):
	}
	cpu := treeCPU(t.pid) - cpu0
	var after report
	if err == nil && fr != nil {
		after, _, err = b.load.run(ctx, paced, dur+60*time.Second)
	}
	flood.Process.Signal(syscall.SIGTERM)
	flood.Wait()
	if err != nil {
		return nil, err.Error()
	}
	if fr == nil {
		return nil, "the attacker did not make its attempts in time: " + firstLine(floodErr.String())
	}
	s.rep, s.ready = attack, fr
	s.extra["base_p99_ms"] = base.num("sess_p99") * 1000
	s.extra["attack_p99_ms"] = attack.num("sess_p99") * 1000
	s.extra["after_p99_ms"] = after.num("sess_p99") * 1000
	if b := base.num("sess_p99"); b > 0 {
		s.extra["p99_ratio"] = attack.num("sess_p99") / b
		s.extra["after_ratio"] = after.num("sess_p99") / b
	}
	s.extra["login_errors"] = base.num("errors") + attack.num("errors") + after.num("errors")
	s.extra["held"] = fr.num("held")
	s.extra["refused"] = fr.num("refused")
	s.extra["refuse_p99_ms"] = fr.num("refuse_p99") * 1000
	if n := fr.num("refused"); n > 0 {
		s.extra["cpu_per_conn_us"] = cpu.Seconds() * 1e6 / (n + attack.num("logins"))
	}
	return s, firstLine(stderr + stderr2)
}
