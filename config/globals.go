package config

import (
	"net"
	"strconv"
)

// readGlobals reads the process-wide top-level keys: shutdown_timeout,
// log_format, log_level, metrics_listen, pid and error_log, and those of
// limits.go.
func readGlobals(c *collector, e *env, cfg *Config, pairs []pair) {
	for _, p := range pairs {
		if readLimitGlobal(c, e, cfg, p) {
			continue
		}
		switch p.key {
		case "shutdown_timeout":
			if d, ok := durationOrZero(c, p.key, p.value); ok {
				cfg.ShutdownTimeout = d
			}
		case "log_format":
			if w, ok := word(c, p.key, p.value, "text", "json"); ok {
				cfg.LogFormat = w
			}
		case "log_level":
			if w, ok := word(c, p.key, p.value, "debug", "info", "warn", "error"); ok {
				cfg.LogLevel = w
			}
		case "metrics_listen":
			if s, ok := nonEmptyText(c, p.key, p.value); ok {
				host, port, err := net.SplitHostPort(s)
				if n, perr := strconv.Atoi(port); err != nil || perr != nil || n < 0 || n > 65535 || (host != "" && net.ParseIP(host) == nil) {
					c.errorf(p.line, "%s: %q is not an IP:PORT address", p.key, s)
					continue
				}
				cfg.MetricsListen = s
			}
		case "error_log":
			if s, ok := nonEmptyText(c, p.key, p.value); ok {
				if s != "stderr" {
					s = absPath(e.dir, s)
				}
				cfg.ErrorLog = s
			}
		case "pid":
			if s, ok := nonEmptyText(c, p.key, p.value); ok {
				cfg.PID = absPath(e.dir, s)
			}
		}
	}
}
