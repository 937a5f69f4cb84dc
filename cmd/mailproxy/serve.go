package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"mailproxy/config"
	"mailproxy/internal/logging"
	"mailproxy/internal/metrics"
	"mailproxy/internal/sdactivation"
	"mailproxy/internal/sdnotify"
	"mailproxy/proxy"
)

// serve opens the logs, binds every listener, writes the pid file, drops
// privileges (user), then serves until a signal says stop:
//   - SIGHUP reloads: the log files are reopened, then the file is read
//     and checked; a bad file is logged and the running configuration
//     keeps serving; a good one brings its own logs (error_log,
//     log_format, log_level) for the process and new sessions;
//   - SIGQUIT stops accepting and lets sessions finish, up to
//     shutdown_timeout (then they are cut); a later SIGTERM/SIGINT cuts
//     them at once;
//   - SIGTERM/SIGINT stop at once.
//
// srv is cfg's server as load built it (certificates loaded, auth URLs
// resolved), not yet bound. It returns the exit status. levelFlag, when
// not empty, is the level of every log sink.
func serve(file string, cfg *config.Config, srv *proxy.Server, levelFlag string, stderr io.Writer) int {
	outs := logging.NewOutputs(stderr)
	defer outs.Close()
	if err := srv.SetLogs(logsFor(outs, levelFlag)); err != nil {
		fmt.Fprintf(stderr, "mailproxy: %v\n", err)
		return exitFail
	}
	log := srv.Logger()
	if cfg.LogFormat == logging.FormatNginx {
		log.Log(context.Background(), logging.LevelNotice, "mailproxy/"+version)
	}
	srv.LogLimits(cfg)
	var m *metrics.Metrics
	if cfg.MetricsListen != "" {
		m = metrics.New()
		m.SetBuildInfo(version)
		stop, err := m.Serve(cfg.MetricsListen)
		if err != nil {
			log.Error("cannot start the metrics listener", "address", cfg.MetricsListen, "err", err)
			return exitFail
		}
		defer stop(context.Background())
		log.Info("metrics listening", "address", cfg.MetricsListen, "paths", "/metrics /healthz /readyz")
		srv.SetObserver(m)
	}
	inherited, err := sdactivation.Listeners()
	if err != nil {
		log.Error("socket activation", "err", err)
		return exitFail
	}
	if len(inherited) > 0 {
		srv.SetInherited(func(address string) net.Listener {
			ln, _, _ := sdactivation.ByAddress(inherited, address)
			return ln
		})
	}
	if err := srv.Listen(); err != nil {
		log.Error("cannot start", "err", err)
		if hint := bindHint(err); hint != "" {
			log.Error(hint)
		}
		sdactivation.Close(inherited)
		return exitFail
	}
	for name, lns := range inherited {
		for _, ln := range lns {
			log.Warn("an inherited socket matches no listen entry; closing it", "name", name, "address", ln.Addr().String())
		}
	}
	sdactivation.Close(inherited)
	if cfg.PID != "" {
		if err := os.WriteFile(cfg.PID, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
			log.Error("cannot write the pid file", "file", cfg.PID, "err", err)
			srv.Close()
			return exitFail
		}
		defer removePID(cfg.PID, log)
	}
	if err := dropPrivileges(cfg, log); err != nil {
		log.Error("cannot drop privileges; not starting", "err", err)
		srv.Close()
		return exitFail
	}
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGQUIT, syscall.SIGHUP)
	defer signal.Stop(sigs)
	go handleSignals(sigs, file, cfg, srv, outs, m)
	setReady(m, true)
	sdnotify.Ready()
	log.Info("mailproxy started", "version", version, "config", file)
	srv.Serve()
	srv.Shutdown(context.Background())
	srv.Logger().Info("mailproxy stopped")
	return exitOK
}

// bindHint explains a listen error that a normal user gets for a port
// below 1024.
func bindHint(err error) string {
	if !errors.Is(err, syscall.EACCES) {
		return ""
	}
	return "binding a port below 1024 needs root or the CAP_NET_BIND_SERVICE capability: run mailproxy from its systemd unit " +
		"(AmbientCapabilities=CAP_NET_BIND_SERVICE), let systemd bind the ports (mailproxy.socket), " +
		"or give the binary the capability (setcap cap_net_bind_service=+ep /usr/bin/mailproxy)"
}

// handleSignals acts on the signals serve subscribed to. outs holds the
// log files (reopened on SIGHUP, for rotation); m may be nil.
func handleSignals(sigs <-chan os.Signal, file string, cfg *config.Config, srv *proxy.Server, outs *logging.Outputs, m *metrics.Metrics) {
	draining := false
	for sig := range sigs {
		switch sig {
		case syscall.SIGHUP:
			if err := outs.Reopen(); err != nil {
				srv.Logger().Error("cannot reopen a log file", "err", err)
			}
			sdnotify.Reloading()
			next, err := reload(file, srv, m)
			sdnotify.Ready()
			if err != nil {
				srv.Logger().Error("reload failed; the running configuration keeps serving", "config", file, "err", err)
				sdnotify.Status("reload failed: " + strings.ReplaceAll(err.Error(), "\n", "; "))
				continue
			}
			sdnotify.Status("configuration reloaded")
			log := srv.Logger()
			for _, key := range restartKeys(cfg, next) {
				log.Warn("the new "+key+" takes effect at the next restart; a reload keeps the running one", "config", file)
			}
			cfg = next
			log.Info("configuration reloaded", "config", file, "servers", len(cfg.Servers))
		case syscall.SIGQUIT:
			if draining {
				continue
			}
			draining = true
			setReady(m, false)
			sdnotify.Stopping()
			srv.Logger().Info("SIGQUIT: no new connections; waiting for open sessions", "sessions", srv.Sessions(), "shutdown_timeout", cfg.ShutdownTimeout.String())
			go func(timeout time.Duration) {
				ctx := context.Background()
				if timeout > 0 {
					var cancel context.CancelFunc
					ctx, cancel = context.WithTimeout(ctx, timeout)
					defer cancel()
				}
				srv.Shutdown(ctx) // logs the sessions it has to cut
			}(cfg.ShutdownTimeout)
		default:
			setReady(m, false)
			sdnotify.Stopping()
			srv.Logger().Info("stopping", "signal", sig.String(), "sessions", srv.Sessions())
			srv.Close()
		}
	}
}

// restartKeys names the top-level keys that changed between two
// configurations but only take effect at a start: metrics_listen, pid,
// limit_conn_store (the counts held live in the running one) and
// event_loops.
// Everything else a reload applies (listeners, servers, TLS files,
// error_log, log_format, log_level, shutdown timeouts).
func restartKeys(old, next *config.Config) []string {
	var keys []string
	if old.MetricsListen != next.MetricsListen {
		keys = append(keys, "metrics_listen")
	}
	if old.PID != next.PID {
		keys = append(keys, "pid")
	}
	if old.LimitConnStore != next.LimitConnStore {
		keys = append(keys, "limit_conn_store")
	}
	if old.EventLoops != next.EventLoops {
		keys = append(keys, "event_loops")
	}
	return keys
}

// reload loads file and switches srv to it. A file that does not load
// counts as a failed reload in m (nil: no metrics); srv.Reload counts
// the others.
func reload(file string, srv *proxy.Server, m *metrics.Metrics) (*config.Config, error) {
	cfg, err := configForReload(file)
	if err != nil {
		m.Reload(false)
		return nil, err
	}
	if err := srv.Reload(cfg); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return cfg, nil
}

// removePID removes the pid file at exit. After dropping privileges its
// directory may not be writable any more: the file, given to the user
// beforehand, is emptied instead, so that no stale pid stays in it.
func removePID(file string, log *slog.Logger) {
	if err := os.Remove(file); err == nil || os.IsNotExist(err) {
		return
	}
	if err := os.Truncate(file, 0); err != nil {
		log.Warn("cannot remove or empty the pid file", "file", file, "err", err)
	}
}

// setReady reports readiness on /readyz when metrics are on.
func setReady(m *metrics.Metrics, ready bool) {
	if m != nil {
		m.SetReady(ready)
	}
}
