package config

import (
	"fmt"
	"os/user"
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v3"

	"mailproxy/internal/kvstore"
)

// The keys of connection limits and privileges: max_connections, user,
// limit_conn_zone, limit_conn_store (top level); limit_conn, limit_conn_log_level,
// limit_conn_dry_run, max_commands (mail or server).

// LimitConnZone is one limit_conn_zone (freenginx's mail
// limit_conn_zone): connections are counted per value of Key in the zone
// Name, which holds about Size bytes of counters.
type LimitConnZone struct {
	Name string
	// Key is "$remote_addr", "$remote_user" or "$auth_http_NAME" (the
	// values of the auth answer's headers whose names, lower-cased with
	// '-' as '_', are NAME, joined by ", ").
	Key  string
	Size int64
	Line int
}

// LimitConn is one limit_conn entry: at most Number connections per key
// of the zone Zone.
type LimitConn struct {
	Zone   string
	Number int
}

// minZoneSize is freenginx's smallest zone: 8 pages of 4096 bytes.
const minZoneSize = 8 * 4096

// defaultMaxCommands is nginx's max_commands.
const defaultMaxCommands = 1000

// Users are looked up through these; tests replace them.
var (
	lookupUser  = user.Lookup
	lookupGroup = user.LookupGroup
)

// readLimitGlobal reads one of the top-level keys of this file into cfg
// and e; it reports whether the key was one of them.
func readLimitGlobal(c *collector, e *env, cfg *Config, p pair) bool {
	switch p.key {
	case "max_connections":
		if n, ok := positive(c, p.key, p.value, 1<<30); ok {
			cfg.MaxConnections = n
		}
	case "user":
		readUser(c, cfg, p)
	case "limit_conn_zone":
		cfg.LimitConnZones = limitConnZones(c, e, p)
	case "event_loops":
		readEventLoops(c, cfg, p)
	case "limit_conn_store":
		if s, ok := nonEmptyText(c, p.key, p.value); ok {
			if err := kvstore.Validate(s); err != nil {
				c.errorf(p.value.Line, "%s: %v", p.key, err)
			} else {
				cfg.LimitConnStore = s
			}
		}
	default:
		return false
	}
	return true
}

// positive parses an integer from 1 to max.
func positive(c *collector, key string, n *yaml.Node, max int) (int, bool) {
	v, ok := count(c, key, n)
	if !ok {
		return 0, false
	}
	if v < 1 || v > max {
		c.errorf(n.Line, "%s: %d is out of range, expected 1 to %d", key, v, max)
		return 0, false
	}
	return v, true
}

// readUser reads `user: NAME [GROUP]`, nginx's user directive: without a
// group, the group of the user's name. Both must exist here.
func readUser(c *collector, cfg *Config, p pair) {
	s, ok := nonEmptyText(c, p.key, p.value)
	if !ok {
		return
	}
	f := strings.Fields(s)
	if len(f) > 2 {
		c.errorf(p.value.Line, "%s: %q: expected a user name and at most a group name", p.key, s)
		return
	}
	name, group := f[0], f[0]
	if len(f) == 2 {
		group = f[1]
	}
	u, err := lookupUser(name)
	if err != nil {
		c.errorf(p.value.Line, "%s: unknown user %q", p.key, name)
		return
	}
	g, err := lookupGroup(group)
	if err != nil {
		c.errorf(p.value.Line, "%s: unknown group %q", p.key, group)
		return
	}
	uid, err1 := strconv.Atoi(u.Uid)
	gid, err2 := strconv.Atoi(g.Gid)
	if err1 != nil || err2 != nil {
		c.errorf(p.value.Line, "%s: user %q or group %q has no numeric id", p.key, name, group)
		return
	}
	cfg.User = &User{Name: name, Group: group, UID: uid, GID: gid}
}

// limitConnZones parses limit_conn_zone: a list of {key, zone} maps,
// zone being "NAME:SIZE" as in freenginx.
func limitConnZones(c *collector, e *env, p pair) []LimitConnZone {
	list, ok := items(c, p.key, p.value, false)
	if !ok {
		return nil
	}
	var out []LimitConnZone
	for _, it := range list {
		if it.Kind != yaml.MappingNode {
			c.errorf(it.Line, "%s: each entry must be a map with key and zone, got %s", p.key, describe(it))
			continue
		}
		z := LimitConnZone{Line: it.Line}
		good, zoneLine := true, it.Line
		for _, kv := range mapPairs(c, p.key, it) {
			switch kv.key {
			case "key":
				var g bool
				if z.Key, g = nonEmptyText(c, p.key+" key", kv.value); g {
					g = checkZoneKey(c, p.key, kv.value.Line, z.Key)
				}
				good = good && g
			case "zone":
				s, g := nonEmptyText(c, p.key+" zone", kv.value)
				zoneLine = kv.value.Line
				if g {
					g = parseZone(c, p.key, kv.value.Line, s, &z)
				}
				good = good && g
			default:
				c.errorf(kv.line, "%s: unknown key %q, expected key or zone", p.key, kv.key)
				good = false
			}
		}
		if good && (z.Key == "" || z.Name == "") {
			c.errorf(it.Line, "%s: an entry needs key and zone", p.key)
			good = false
		}
		if !good {
			continue
		}
		if first, dup := e.zones[z.Name]; dup {
			c.errorf(zoneLine, "%s %q is already bound to key %q at line %d", p.key, z.Name, first.Key, first.Line)
			continue
		}
		e.zones[z.Name] = z
		out = append(out, z)
	}
	return out
}

// checkZoneKey accepts freenginx's keys. An $auth_http_ name that no
// header can ever match (upper case, '-', nothing) is refused: freenginx
// would count nothing with it.
func checkZoneKey(c *collector, key string, line int, k string) bool {
	switch {
	case k == "$remote_addr", k == "$remote_user":
		return true
	case strings.HasPrefix(k, "$auth_http_"):
		name := k[len("$auth_http_"):]
		ok := name != ""
		for i := 0; i < len(name); i++ {
			b := name[i]
			ok = ok && (b >= 'a' && b <= 'z' || b >= '0' && b <= '9' || b == '_')
		}
		if !ok {
			c.errorf(line, "%s: key %q: after $auth_http_ comes a header name in lower case with '_' for '-' (e.g. $auth_http_x_user_class)", key, k)
		}
		return ok
	}
	c.errorf(line, "%s: invalid key %q, expected $remote_addr, $remote_user or $auth_http_NAME", key, k)
	return false
}

// parseZone reads "NAME:SIZE" into z.
func parseZone(c *collector, key string, line int, s string, z *LimitConnZone) bool {
	name, size, found := strings.Cut(s, ":")
	if !found || name == "" {
		c.errorf(line, "%s: invalid zone %q, expected NAME:SIZE (e.g. addr:10m)", key, s)
		return false
	}
	n := nginxSize(size)
	if n < 0 {
		c.errorf(line, "%s: invalid zone size %q", key, s)
		return false
	}
	if n < minZoneSize {
		c.errorf(line, "%s: zone %q is too small (at least 32k)", key, s)
		return false
	}
	z.Name, z.Size = name, n
	return true
}

// limitConnList parses limit_conn: a list of {zone, number} maps. Whether
// each zone exists is checked once the top level is read (resolveLimits).
func limitConnList(c *collector, key string, n *yaml.Node) ([]LimitConn, bool) {
	list, ok := items(c, key, n, false)
	if !ok {
		return nil, false
	}
	out := []LimitConn{}
	seen := map[string]bool{}
	for _, it := range list {
		if it.Kind != yaml.MappingNode {
			c.errorf(it.Line, "%s: each entry must be a map with zone and number, got %s", key, describe(it))
			ok = false
			continue
		}
		var l LimitConn
		good := true
		for _, kv := range mapPairs(c, key, it) {
			var g bool
			switch kv.key {
			case "zone":
				l.Zone, g = nonEmptyText(c, key+" zone", kv.value)
			case "number":
				l.Number, g = positive(c, key+" number", kv.value, 65535)
			default:
				c.errorf(kv.line, "%s: unknown key %q, expected zone or number", key, kv.key)
			}
			good = good && g
		}
		switch {
		case !good:
		case l.Zone == "" || l.Number == 0:
			c.errorf(it.Line, "%s: an entry needs zone and number", key)
			good = false
		case seen[l.Zone]:
			c.errorf(it.Line, "%s: zone %q is duplicate", key, l.Zone)
			good = false
		}
		seen[l.Zone] = true
		if good {
			out = append(out, l)
		}
		ok = ok && good
	}
	return out, ok
}

// logLevelValue parses limit_conn_log_level: info, notice, warn or error.
func logLevelValue(c *collector, key string, n *yaml.Node) (string, bool) {
	return word(c, key, n, "info", "notice", "warn", "error")
}

// resolveLimits sets the limit keys of srv from the server (s) and mail
// (m) levels and checks that every limit_conn zone of both is defined
// (the mail level's even when the server replaces its list, as nginx
// checks every zone named).
func resolveLimits(c *collector, e *env, srv *Server, m, s settings) {
	for _, limits := range []opt[[]LimitConn]{m.limitConn, s.limitConn} {
		for _, l := range limits.v {
			if _, ok := e.zones[l.Zone]; !ok {
				c.errorf(limits.line, "limit_conn: no limit_conn_zone %q is defined", l.Zone)
			}
		}
	}
	limits := s.limitConn.or(m.limitConn)
	srv.LimitConn = limits.v
	srv.LimitConnLogLevel = s.limitConnLogLevel.or(m.limitConnLogLevel).get("error")
	srv.LimitConnDryRun = s.limitConnDryRun.or(m.limitConnDryRun).get(false)
	srv.MaxCommands = s.maxCommands.or(m.maxCommands).get(defaultMaxCommands)
}

// maxCommandsValue parses max_commands: at least 1 (nginx takes 0, which
// refuses every command).
func maxCommandsValue(c *collector, key string, n *yaml.Node) (int, bool) {
	return positive(c, key, n, 1<<30)
}

// String is "name" or "name group" as written.
func (u *User) String() string {
	if u.Group == u.Name {
		return u.Name
	}
	return fmt.Sprintf("%s %s", u.Name, u.Group)
}

// EventLoopsAuto is event_loops' default, "auto": one loop per CPU the
// process may use.
const EventLoopsAuto = -1

// maxEventLoops bounds event_loops.
const maxEventLoops = 256

// readEventLoops reads event_loops: "auto", "off" (0) or a number of loops.
func readEventLoops(c *collector, cfg *Config, p pair) {
	switch p.value.Value {
	case "auto":
		cfg.EventLoops = EventLoopsAuto
		return
	case "off", "0":
		cfg.EventLoops = 0
		return
	}
	if n, ok := positive(c, p.key, p.value, maxEventLoops); ok {
		cfg.EventLoops = n
	}
}
