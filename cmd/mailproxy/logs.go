package main

import (
	"log/slog"

	"mailproxy/config"
	"mailproxy/internal/logging"
	"mailproxy/proxy"
)

// logsFor returns the proxy's LogsFunc: the loggers of a configuration,
// built on outs (which opens each destination once), in its log_format:
// the top-level error_log sinks for the process and the servers without
// their own, each server's own sinks for its sessions. A sink without a
// level takes log_level; levelFlag (-log-level), when not empty, is the
// level of every sink.
func logsFor(outs *logging.Outputs, levelFlag string) proxy.LogsFunc {
	return func(cfg *config.Config) (proxy.Logs, error) {
		var releases []func()
		release := func() {
			for _, r := range releases {
				r()
			}
		}
		main, r, err := outs.Logger(cfg.LogFormat, sinks(cfg.ErrorLog, cfg.LogLevel, levelFlag))
		if err != nil {
			return proxy.Logs{}, err
		}
		releases = append(releases, r)
		logs := proxy.Logs{Main: main, Servers: make([]*slog.Logger, len(cfg.Servers)), Release: release}
		for i, s := range cfg.Servers {
			if s.ErrorLog == nil {
				continue
			}
			l, r, err := outs.Logger(cfg.LogFormat, sinks(s.ErrorLog, cfg.LogLevel, levelFlag))
			if err != nil {
				release()
				return proxy.Logs{}, err
			}
			logs.Servers[i], releases = l, append(releases, r)
		}
		return logs, nil
	}
}

// sinks turns error_log entries into logging sinks (none: stderr at the
// level).
func sinks(list []config.LogSink, level, levelFlag string) []logging.Sink {
	if len(list) == 0 {
		list = []config.LogSink{{Destination: "stderr"}}
	}
	out := make([]logging.Sink, len(list))
	for i, s := range list {
		name := s.Level
		if name == "" {
			name = level
		}
		if levelFlag != "" {
			name = levelFlag
		}
		lv, _ := logging.ParseLevel(name) // checked by config and by run
		out[i] = logging.Sink{Destination: s.Destination, Level: lv}
	}
	return out
}
