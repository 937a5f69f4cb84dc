package config

import (
	"net"
	"strconv"

	"mailproxy/internal/logging"
)

// globalKeys are the process-wide top-level keys, beside mail and
// servers (the limits' are read in limits.go).
var globalKeys = []string{"shutdown_timeout", "worker_shutdown_timeout", "log_format", "log_level", "metrics_listen", "pid", "error_log", "max_connections", "user", "limit_conn_zone", "limit_conn_store", "event_loops"}

// readGlobals reads the process-wide top-level keys (globalKeys).
func readGlobals(c *collector, e *env, cfg *Config, pairs []pair) {
	var shutdownLine int
	for _, p := range pairs {
		if readLimitGlobal(c, e, cfg, p) {
			continue
		}
		switch p.key {
		case "shutdown_timeout", "worker_shutdown_timeout":
			if shutdownLine != 0 {
				c.errorf(p.line, "%s: shutdown_timeout and worker_shutdown_timeout cannot both be given (first at line %d): worker_shutdown_timeout also bounds the sessions a reload leaves to the old configuration", p.key, shutdownLine)
				continue
			}
			shutdownLine = p.line
			if d, ok := durationOrZero(c, p.key, p.value); ok {
				cfg.ShutdownTimeout = d
				if p.key == "worker_shutdown_timeout" {
					cfg.WorkerShutdownTimeout = d
				}
			}
		case "log_format":
			if w, ok := word(c, p.key, p.value, logging.FormatText, logging.FormatJSON, logging.FormatNginx); ok {
				cfg.LogFormat = w
			}
		case "log_level":
			if w, ok := word(c, p.key, p.value, logging.LevelNames()...); ok {
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
			if sinks, ok := errorLogList(c, p.key, p.value); ok {
				cfg.ErrorLog = resolveLogs(c, e, p.key, sinks)
			}
		case "pid":
			if s, ok := nonEmptyText(c, p.key, p.value); ok {
				cfg.PID = absPath(e.dir, s)
			}
		}
	}
}
