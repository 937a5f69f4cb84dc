package bench

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"mailproxy/config"
)

// TestThrottleConfig checks the login_throttle lines of each run, and
// that mailproxy's configuration accepts them with the numbers meant.
func TestThrottleConfig(t *testing.T) {
	o := mustDefaults(t, Options{Mailproxy: "x", Mailload: "y"})
	if got := throttleConfig(o, "-"); got != "" {
		t.Errorf("off: %q", got)
	}
	want := "  login_throttle:\n    ip: {failures: 10, window: 1m, block: 5m}\n" +
		"    user: {failures: 30, window: 15m, block: 15m}\n    user_ip: {failures: 5, window: 5m, block: 5m}\n"
	if got := throttleConfig(o, ""); got != want {
		t.Errorf("memory:\n%s\nwant\n%s", got, want)
	}
	cert, key, _, err := writeCert(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, store := range []string{"", "redis://127.0.0.1:6390/0"} {
		s := mailproxySetup{auth: "127.0.0.1:1", addrs: map[string]string{"imap": "127.0.0.1:2"}, cert: cert, key: key, logLevel: "info",
			mail: throttleConfig(o, store)}
		cfg, err := config.Parse("bench.yaml", []byte(s.config()))
		if err != nil {
			t.Fatalf("store %q: %v\n%s", store, err, s.config())
		}
		lt := cfg.LoginThrottle
		if lt == nil || lt.Store != store || lt.IP == nil || lt.IP.Failures != 10 || lt.IP.Window != time.Minute || lt.IP.Block != 5*time.Minute ||
			lt.User == nil || lt.User.Failures != 30 || lt.UserIP == nil || lt.UserIP.Failures != 5 {
			t.Errorf("store %q: login_throttle %+v", store, lt)
		}
	}
}

// TestThrottleBound checks the per-address bound over runs shorter and
// longer than a window, and the attack's addresses.
func TestThrottleBound(t *testing.T) {
	for _, c := range []struct {
		d    time.Duration
		want int
	}{{time.Second, 10}, {time.Minute, 10}, {61 * time.Second, 20}, {150 * time.Second, 30}} {
		if got := throttleBound(Options{ThrottleFailures: 10, ThrottleDuration: c.d}); got != c.want {
			t.Errorf("%v: bound %d, want %d", c.d, got, c.want)
		}
	}
	a := attackAddrs()
	if len(a) != 100 || a[0] != "127.2.0.1" || a[99] != "127.2.0.100" {
		t.Errorf("attack addresses %s … %s (%d)", a[0], a[len(a)-1], len(a))
	}
	for _, c := range []struct{ d, s string }{{"1m0s", "1m"}, {"5m0s", "5m"}, {"10s", "10s"}, {"1h0m0s", "1h"}, {"1m30s", "1m30s"}} {
		d, _ := time.ParseDuration(c.d)
		if got := shortDuration(d); got != c.s {
			t.Errorf("shortDuration(%s) = %s, want %s", c.d, got, c.s)
		}
	}
}

// TestThrottleWithoutRedis runs the attack-throttle figure with a
// redis-server that does not exist: the figure reports the error and
// still the two runs it could make, and nothing is left running.
func TestThrottleWithoutRedis(t *testing.T) {
	needRun(t)
	mp, ml := buildBinaries(t)
	o := Options{Mailproxy: mp, Mailload: ml, Quick: true, NoNginx: true, Figures: "attack-throttle", ThrottleDuration: 300 * time.Millisecond,
		RedisServer: "/nonexistent/redis-server", Progress: logWriter{t}}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out bytes.Buffer
	res, err := Run(ctx, o, &out)
	t.Logf("output:\n%s", out.String())
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Figures) != 1 || res.Figures[0].ID != "attack-throttle" {
		t.Fatalf("figures %+v", res.Figures)
	}
	f := res.Figures[0]
	if len(f.Errors) != 1 || !strings.Contains(f.Errors[0], "redis-server not found") || !strings.Contains(out.String(), "! mailproxy round 1: Redis run: redis-server not found") {
		t.Errorf("errors %q, want one saying redis-server is missing, printed", f.Errors)
	}
	for _, row := range f.Rows {
		redis := strings.Contains(row.Label, "Redis") || strings.Contains(row.Label, "redis")
		if got := len(row.Values[mailproxy]); redis && got != 0 || !redis && got != 1 {
			t.Errorf("%q: %d values", row.Label, got)
		}
	}
	checkStopped(t, res)
}
