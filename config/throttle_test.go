package config

import (
	"reflect"
	"testing"
	"time"
)

// TestLoginThrottle: the mail-level login_throttle with every key, and a
// minimal one with the defaults.
func TestLoginThrottle(t *testing.T) {
	cfg := mustParse(t, y(
		"mail:",
		"  auth_http: 127.0.0.1:9000",
		"  login_throttle:",
		"    store: rediss://cache.example:6380/1",
		"    ip:      {failures: 10, window: 5m, block: 15m}",
		"    user:    {failures: 30, window: 15m, block: 15m}",
		"    user_ip: {failures: 5,  window: 5m, block: 300ms}",
		"    ipv6_prefix: 48",
		"    exempt: [10.1.2.3/32, \"2001:db8::1\"]",
		"    fail_closed: true",
		"servers:",
		"  - listen: [143]",
		"  - listen: [110]",
	))
	want := &LoginThrottle{
		Store:      "rediss://cache.example:6380/1",
		IP:         &ThrottleRule{10, 5 * time.Minute, 15 * time.Minute},
		User:       &ThrottleRule{30, 15 * time.Minute, 15 * time.Minute},
		UserIP:     &ThrottleRule{5, 5 * time.Minute, 300 * time.Millisecond},
		IPv6Prefix: 48,
		Exempt:     prefixes("10.1.2.3/32", "2001:db8::1/128"),
		FailClosed: true,
	}
	if !reflect.DeepEqual(cfg.LoginThrottle, want) {
		t.Fatalf("login_throttle %+v, want %+v", cfg.LoginThrottle, want)
	}
	cfg = mustParse(t, y("mail:", "  auth_http: a", "  login_throttle: {user: {failures: 3, window: 60, block: 1h}}", "servers: [{listen: [143]}]"))
	want = &LoginThrottle{User: &ThrottleRule{3, time.Minute, time.Hour}, IPv6Prefix: 64}
	if !reflect.DeepEqual(cfg.LoginThrottle, want) {
		t.Fatalf("login_throttle %+v, want %+v", cfg.LoginThrottle, want)
	}
	cfg = mustParse(t, y("mail: {auth_http: a}", "servers: [{listen: [143]}]"))
	if cfg.LoginThrottle != nil {
		t.Fatalf("login_throttle %+v without the key", cfg.LoginThrottle)
	}
}

// TestLoginThrottleErrors: every bad value, with its line.
func TestLoginThrottleErrors(t *testing.T) {
	mail := func(lines ...string) string {
		return y(append(append([]string{"mail:", "  auth_http: 127.0.0.1:9000"}, lines...), "servers:", "  - listen: [143]")...)
	}
	rule := "{failures: 3, window: 1m, block: 1m}"
	cases := []struct {
		name string
		text string
		want []string
	}{
		{"not a map", mail("  login_throttle: on"), []string{at(3, "login_throttle: expected a map with store, ip, user, user_ip, ipv6_prefix, exempt, fail_closed, got a string")}},
		{"null", mail("  login_throttle:"), []string{at(3, "login_throttle: expected a map with store, ip, user, user_ip, ipv6_prefix, exempt, fail_closed, got null")}},
		{"no rule", mail("  login_throttle: {ipv6_prefix: 64}"), []string{at(3, "login_throttle: no rule: set at least one of ip, user, user_ip")}},
		{"unknown key", mail("  login_throttle:", "    ip: "+rule, "    users: "+rule), []string{at(5, `login_throttle: unknown key "users", expected store, ip, user, user_ip, ipv6_prefix, exempt or fail_closed`)}},
		{"bad scheme", mail("  login_throttle:", "    store: http://127.0.0.1:6379", "    ip: "+rule), []string{at(4, `login_throttle store: store "http://127.0.0.1:6379": the scheme must be redis:// or rediss://`)}},
		{"empty store", mail("  login_throttle:", "    store: \"\"", "    ip: "+rule), []string{at(4, `login_throttle store: must not be empty`)}},
		{"bad db", mail("  login_throttle:", "    store: redis://127.0.0.1:6379/x", "    ip: "+rule), []string{at(4, `login_throttle store: store "redis://127.0.0.1:6379/x": redis: invalid database number: "x"`)}},
		{"rule not a map", mail("  login_throttle: {ip: 10}"), []string{at(3, "login_throttle ip: expected a map with failures, window and block, got an integer")}},
		{"rule incomplete", mail("  login_throttle:", "    ip: {failures: 3, window: 1m}"), []string{at(4, "login_throttle ip: a rule needs failures, window and block")}},
		{"rule unknown key", mail("  login_throttle:", "    ip: {failures: 3, window: 1m, block: 1m, burst: 2}"), []string{at(4, `login_throttle ip: unknown key "burst", expected failures, window or block`)}},
		{"failures 0", mail("  login_throttle:", "    user: {failures: 0, window: 1m, block: 1m}"), []string{at(4, "login_throttle user failures: 0 is out of range, expected 1 to 10000")}},
		{"failures huge", mail("  login_throttle:", "    user: {failures: 10001, window: 1m, block: 1m}"), []string{at(4, "login_throttle user failures: 10001 is out of range, expected 1 to 10000")}},
		{"window bad", mail("  login_throttle:", "    user_ip: {failures: 3, window: soon, block: 1m}"), []string{at(4, `login_throttle user_ip window: invalid duration "soon" (examples: 60s, 5m, 1h30m, 500ms)`)}},
		{"block too short", mail("  login_throttle:", "    user_ip: {failures: 3, window: 1m, block: 10us}"), []string{at(4, "login_throttle user_ip block: 10µs is shorter than 1ms")}},
		{"prefix 0", mail("  login_throttle:", "    ip: "+rule, "    ipv6_prefix: 0"), []string{at(5, "login_throttle ipv6_prefix: 0 is out of range, expected 1 to 128")}},
		{"prefix 129", mail("  login_throttle:", "    ip: "+rule, "    ipv6_prefix: 129"), []string{at(5, "login_throttle ipv6_prefix: 129 is out of range, expected 1 to 128")}},
		{"exempt bad", mail("  login_throttle:", "    ip: "+rule, "    exempt: [10.1.2.300]"), []string{at(5, `login_throttle exempt: invalid address "10.1.2.300", expected an IP address or CIDR`)}},
		{"fail_closed bad", mail("  login_throttle:", "    ip: "+rule, "    fail_closed: maybe"), []string{at(5, `login_throttle fail_closed: invalid value "maybe", expected on or off`)}},
		{"in a server", y("mail: {auth_http: a}", "servers:", "  - listen: [143]", "    login_throttle: {ip: "+rule+"}"), []string{at(4, `server: key "login_throttle" is only allowed in mail`)}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := problems(t, tc.text); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got\n%q\nwant\n%q", got, tc.want)
			}
		})
	}
}
