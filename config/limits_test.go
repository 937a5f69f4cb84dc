package config

import (
	"errors"
	"os/user"
	"reflect"
	"strings"
	"testing"
)

// fakeUsers makes user lookups see only alice (1001, group alice 1001),
// mail (8, group mail 8) and the group staff (50).
func fakeUsers(t *testing.T) {
	lu, lg := lookupUser, lookupGroup
	t.Cleanup(func() { lookupUser, lookupGroup = lu, lg })
	lookupUser = func(name string) (*user.User, error) {
		switch name {
		case "alice":
			return &user.User{Username: "alice", Uid: "1001", Gid: "1001"}, nil
		case "mail":
			return &user.User{Username: "mail", Uid: "8", Gid: "8"}, nil
		}
		return nil, user.UnknownUserError(name)
	}
	lookupGroup = func(name string) (*user.Group, error) {
		switch name {
		case "alice":
			return &user.Group{Name: "alice", Gid: "1001"}, nil
		case "mail":
			return &user.Group{Name: "mail", Gid: "8"}, nil
		case "staff":
			return &user.Group{Name: "staff", Gid: "50"}, nil
		}
		return nil, user.UnknownGroupError(name)
	}
}

// TestLimits: the top-level keys and the limit keys of mail and servers,
// with nginx's inheritance (a server's limit_conn list replaces the
// mail one).
func TestLimits(t *testing.T) {
	fakeUsers(t)
	cfg := mustParse(t, y(
		"max_connections: 4000",
		"user: alice staff",
		"limit_conn_zone:",
		"  - {key: $remote_addr, zone: \"addr:10m\"}",
		"  - key: $auth_http_x_user_class",
		"    zone: class:32k",
		"  - {key: $remote_user, zone: \"user:1m\"}",
		"limit_conn_store: rediss://user:pw@cache.example:6380/1",
		"mail:",
		"  auth_http: 127.0.0.1:9000",
		"  limit_conn:",
		"    - {zone: addr, number: 10}",
		"    - {zone: user, number: 3}",
		"  limit_conn_log_level: warn",
		"  max_commands: 50",
		"servers:",
		"  - listen: [143]",
		"  - listen: [110]",
		"    limit_conn: [{zone: class, number: 65535}]",
		"    limit_conn_dry_run: on",
		"    limit_conn_log_level: notice",
		"  - listen: [25]",
		"    limit_conn: []",
	))
	if cfg.LimitConnStore != "rediss://user:pw@cache.example:6380/1" {
		t.Errorf("limit_conn_store %q", cfg.LimitConnStore)
	}
	if cfg.MaxConnections != 4000 || !reflect.DeepEqual(cfg.User, &User{Name: "alice", Group: "staff", UID: 1001, GID: 50}) {
		t.Fatalf("max_connections %d user %+v", cfg.MaxConnections, cfg.User)
	}
	wantZones := []LimitConnZone{
		{Name: "addr", Key: "$remote_addr", Size: 10 << 20, Line: 4},
		{Name: "class", Key: "$auth_http_x_user_class", Size: 32 << 10, Line: 5},
		{Name: "user", Key: "$remote_user", Size: 1 << 20, Line: 7},
	}
	if !reflect.DeepEqual(cfg.LimitConnZones, wantZones) {
		t.Fatalf("zones %+v", cfg.LimitConnZones)
	}
	type limits struct {
		conn    []LimitConn
		level   string
		dry     bool
		maxCmds int
	}
	for i, want := range []limits{
		{[]LimitConn{{"addr", 10}, {"user", 3}}, "warn", false, 50},
		{[]LimitConn{{"class", 65535}}, "notice", true, 50},
		{[]LimitConn{}, "warn", false, 50},
	} {
		s := cfg.Servers[i]
		if got := (limits{s.LimitConn, s.LimitConnLogLevel, s.LimitConnDryRun, s.MaxCommands}); !reflect.DeepEqual(got, want) {
			t.Errorf("server %d: %+v, want %+v", i, got, want)
		}
	}

	// A user alone takes the group of its name; nothing set: no cap, no
	// user, nginx's defaults.
	cfg = mustParse(t, y("user: mail", "mail: {auth_http: a}", "servers: [{listen: [143]}]"))
	if !reflect.DeepEqual(cfg.User, &User{Name: "mail", Group: "mail", UID: 8, GID: 8}) || cfg.User.String() != "mail" {
		t.Fatalf("user %+v", cfg.User)
	}
	cfg = mustParse(t, y("mail: {auth_http: a}", "servers: [{listen: [143]}]"))
	s := cfg.Servers[0]
	if cfg.MaxConnections != 0 || cfg.User != nil || cfg.LimitConnZones != nil || s.LimitConn != nil || s.LimitConnLogLevel != "error" || s.LimitConnDryRun || s.MaxCommands != 1000 {
		t.Fatalf("defaults: %+v %+v", cfg, s)
	}
}

// TestLimitErrors: every bad value, with its line.
func TestLimitErrors(t *testing.T) {
	fakeUsers(t)
	top := func(lines ...string) string {
		return y(append(lines, "mail:", "  auth_http: 127.0.0.1:9000", "servers:", "  - listen: [143]")...)
	}
	zone := "limit_conn_zone: [{key: $remote_addr, zone: \"addr:1m\"}]"
	cases := []struct {
		name string
		text string
		want []string
	}{
		{"max_connections 0", top("max_connections: 0"), []string{at(1, "max_connections: 0 is out of range, expected 1 to 1073741824")}},
		{"max_connections word", top("max_connections: many"), []string{at(1, `max_connections: invalid number "many", expected an integer >= 0`)}},
		{"user unknown", top("user: nobody-here"), []string{at(1, `user: unknown user "nobody-here"`)}},
		{"group unknown", top("user: alice wheel"), []string{at(1, `user: unknown group "wheel"`)}},
		{"user three words", top("user: alice staff more"), []string{at(1, `user: "alice staff more": expected a user name and at most a group name`)}},
		{"user empty", top(`user: ""`), []string{at(1, "user: must not be empty")}},
		{"zone not a list", top("limit_conn_zone: addr"), []string{at(1, "limit_conn_zone: expected a list, got a string")}},
		{"zone bad key", top(`limit_conn_zone: [{key: $binary_remote_addr, zone: "a:1m"}]`), []string{at(1, `limit_conn_zone: invalid key "$binary_remote_addr", expected $remote_addr, $remote_user or $auth_http_NAME`)}},
		{"zone header key not lower case", top(`limit_conn_zone: [{key: $auth_http_X-Class, zone: "a:1m"}]`), []string{at(1, `limit_conn_zone: key "$auth_http_X-Class": after $auth_http_ comes a header name in lower case with '_' for '-' (e.g. $auth_http_x_user_class)`)}},
		{"zone header key empty", top(`limit_conn_zone: [{key: $auth_http_, zone: "a:1m"}]`), []string{at(1, `limit_conn_zone: key "$auth_http_": after $auth_http_ comes a header name in lower case with '_' for '-' (e.g. $auth_http_x_user_class)`)}},
		{"zone without size", top(`limit_conn_zone: [{key: $remote_addr, zone: addr}]`), []string{at(1, `limit_conn_zone: invalid zone "addr", expected NAME:SIZE (e.g. addr:10m)`)}},
		{"zone bad size", top(`limit_conn_zone: [{key: $remote_addr, zone: "addr:ten"}]`), []string{at(1, `limit_conn_zone: invalid zone size "addr:ten"`)}},
		{"zone too small", top(`limit_conn_zone: [{key: $remote_addr, zone: "addr:8k"}]`), []string{at(1, `limit_conn_zone: zone "addr:8k" is too small (at least 32k)`)}},
		{"zone missing zone", top(`limit_conn_zone: [{key: $remote_addr}]`), []string{at(1, "limit_conn_zone: an entry needs key and zone")}},
		{"zone unknown key", top(`limit_conn_zone: [{key: $remote_addr, zone: "a:1m", size: 1}]`), []string{at(1, `limit_conn_zone: unknown key "size", expected key or zone`)}},
		{"zone twice", top("limit_conn_zone:", `  - {key: $remote_addr, zone: "a:1m"}`, `  - {key: $remote_user, zone: "a:1m"}`), []string{at(3, `limit_conn_zone "a" is already bound to key "$remote_addr" at line 2`)}},
		{"limit_conn in the top level", top("limit_conn: []"), []string{at(1, `unknown top-level key "limit_conn": directives go in mail or in a server`)}},
		{"limit_conn unknown zone", srv("    limit_conn: [{zone: addr, number: 1}]"), []string{at(5, `limit_conn: no limit_conn_zone "addr" is defined`)}},
		{"limit_conn number 0", y(zone) + srv("    limit_conn: [{zone: addr, number: 0}]"), []string{at(6, "limit_conn number: 0 is out of range, expected 1 to 65535")}},
		{"limit_conn number too big", y(zone) + srv("    limit_conn: [{zone: addr, number: 65536}]"), []string{at(6, "limit_conn number: 65536 is out of range, expected 1 to 65535")}},
		{"limit_conn duplicate", y(zone) + srv("    limit_conn: [{zone: addr, number: 1}, {zone: addr, number: 2}]"), []string{at(6, `limit_conn: zone "addr" is duplicate`)}},
		{"limit_conn without number", y(zone) + srv("    limit_conn: [{zone: addr}]"), []string{at(6, "limit_conn: an entry needs zone and number")}},
		{"limit_conn not a map", y(zone) + srv("    limit_conn: [addr]"), []string{at(6, "limit_conn: each entry must be a map with zone and number, got a string")}},
		{"limit_conn_log_level", srv("    limit_conn_log_level: debug"), []string{at(5, `limit_conn_log_level: invalid value "debug", expected info, notice, warn or error`)}},
		{"limit_conn_dry_run", srv("    limit_conn_dry_run: maybe"), []string{at(5, `limit_conn_dry_run: invalid value "maybe", expected on or off`)}},
		{"max_commands 0", srv("    max_commands: 0"), []string{at(5, "max_commands: 0 is out of range, expected 1 to 1073741824")}},
		{"limit_conn_store scheme", top("limit_conn_store: http://127.0.0.1:6379"), []string{at(1, `limit_conn_store: store "http://127.0.0.1:6379": the scheme must be redis:// or rediss://`)}},
		{"limit_conn_store database", top("limit_conn_store: redis://127.0.0.1:6379/x"), []string{at(1, `limit_conn_store: store "redis://127.0.0.1:6379/x": redis: invalid database number: "x"`)}},
		{"limit_conn_store in mail", srv("    limit_conn_store: redis://127.0.0.1:6379"), []string{at(5, `server: unknown key "limit_conn_store"`)}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := problems(t, tc.text)
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("input:\n%s got:\n  %s\nwant:\n  %s", numbered(tc.text), strings.Join(got, "\n  "), strings.Join(tc.want, "\n  "))
			}
		})
	}
}

// TestUserLookedUpForReal: the real user database answers (root exists
// everywhere this runs).
func TestUserLookedUpForReal(t *testing.T) {
	cfg := mustParse(t, y("user: root", "mail: {auth_http: a}", "servers: [{listen: [143]}]"))
	if cfg.User == nil || cfg.User.UID != 0 {
		t.Fatalf("user %+v", cfg.User)
	}
	_, err := Parse("test.yaml", []byte(y("user: no-such-user-here", "mail: {auth_http: a}", "servers: [{listen: [143]}]")))
	var e *Error
	if !errors.As(err, &e) || !strings.Contains(err.Error(), `unknown user "no-such-user-here"`) {
		t.Fatalf("err %v", err)
	}
}

// TestEventLoops: event_loops is auto by default, auto, off, 0 or a
// positive number; anything else is refused at its line.
func TestEventLoops(t *testing.T) {
	for _, tc := range []struct {
		value string
		want  int
	}{{"", EventLoopsAuto}, {"auto", EventLoopsAuto}, {"off", 0}, {"0", 0}, {"4", 4}} {
		y := "servers:\n  - listen: [143]\n    auth_http: http://127.0.0.1:9/auth\n"
		if tc.value != "" {
			y = "event_loops: " + tc.value + "\n" + y
		}
		cfg, err := Parse("test.yaml", []byte(y))
		if err != nil {
			t.Fatalf("%q: %v", tc.value, err)
		}
		if cfg.EventLoops != tc.want {
			t.Errorf("%q: EventLoops = %d, want %d", tc.value, cfg.EventLoops, tc.want)
		}
	}
	for _, bad := range []string{"many", "-2", "100000"} {
		if _, err := Parse("test.yaml", []byte("event_loops: "+bad+"\nservers:\n  - listen: [143]\n    auth_http: http://127.0.0.1:9/auth\n")); err == nil || !strings.Contains(err.Error(), "test.yaml:1") {
			t.Errorf("%q: err = %v, want an error at line 1", bad, err)
		}
	}
}
