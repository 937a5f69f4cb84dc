package main

import (
	"context"
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

// serve binds every listener, writes the pid file, drops privileges
// (user), then serves until a signal says stop:
//   - SIGHUP reloads: the file is read and checked first; a bad file is
//     logged and the running configuration keeps serving;
//   - SIGQUIT stops accepting and lets sessions finish, up to
//     shutdown_timeout (then they are cut); a later SIGTERM/SIGINT cuts
//     them at once;
//   - SIGTERM/SIGINT stop at once.
//
// srv is cfg's server as load built it (certificates loaded, auth URLs
// resolved), not yet bound. It returns the exit status. levelFlag, when
// not empty, overrides the configuration's log_level.
func serve(file string, cfg *config.Config, srv *proxy.Server, levelFlag string, stderr io.Writer) int {
	level := cfg.LogLevel
	if levelFlag != "" {
		level = levelFlag
	}
	log, logs, err := logging.New(cfg.LogFormat, level, cfg.ErrorLog, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "mailproxy: error_log: %v\n", err)
		return exitFail
	}
	defer logs.Close()
	srv.SetLogger(log)
	srv.LogLimits(cfg)
	var m *metrics.Metrics
	if cfg.MetricsListen != "" {
		m = metrics.New()
		stop, err := m.Serve(cfg.MetricsListen)
		if err != nil {
			log.Error("cannot start the metrics listener", "address", cfg.MetricsListen, "err", err)
			return exitFail
		}
		defer stop(context.Background())
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
	go handleSignals(sigs, file, cfg, srv, log, logs, m)
	setReady(m, true)
	sdnotify.Ready()
	log.Info("mailproxy started", "version", version, "config", file)
	srv.Serve()
	srv.Shutdown(context.Background())
	log.Info("mailproxy stopped")
	return exitOK
}

// handleSignals acts on the signals serve subscribed to. logs is the log
// destination (reopened on SIGHUP for rotation); m may be nil.
func handleSignals(sigs <-chan os.Signal, file string, cfg *config.Config, srv *proxy.Server, log *slog.Logger, logs io.Closer, m *metrics.Metrics) {
	draining := false
	for sig := range sigs {
		switch sig {
		case syscall.SIGHUP:
			if err := logging.Reopen(logs); err != nil {
				log.Error("cannot reopen the log file", "err", err)
			}
			sdnotify.Reloading()
			next, err := reload(file, srv)
			sdnotify.Ready()
			if err != nil {
				log.Error("reload failed; the running configuration keeps serving", "config", file, "err", err)
				sdnotify.Status("reload failed: " + strings.ReplaceAll(err.Error(), "\n", "; "))
				continue
			}
			sdnotify.Status("configuration reloaded")
			cfg = next
			if h, ok := logs.(*logging.Handle); ok {
				h.SetLevel(cfg.LogLevel)
			}
			log.Info("configuration reloaded", "config", file, "servers", len(cfg.Servers))
		case syscall.SIGQUIT:
			if draining {
				continue
			}
			draining = true
			setReady(m, false)
			sdnotify.Stopping()
			log.Info("SIGQUIT: no new connections; waiting for open sessions", "sessions", srv.Sessions(), "shutdown_timeout", cfg.ShutdownTimeout.String())
			go func(timeout time.Duration) {
				ctx := context.Background()
				if timeout > 0 {
					var cancel context.CancelFunc
					ctx, cancel = context.WithTimeout(ctx, timeout)
					defer cancel()
				}
				if err := srv.Shutdown(ctx); err != nil {
					log.Info("shutdown timeout: closing the remaining sessions", "sessions", srv.Sessions())
				}
			}(cfg.ShutdownTimeout)
		default:
			setReady(m, false)
			sdnotify.Stopping()
			log.Info("stopping", "signal", sig.String(), "sessions", srv.Sessions())
			srv.Close()
		}
	}
}

// reload loads file and switches srv to it.
func reload(file string, srv *proxy.Server) (*config.Config, error) {
	cfg, err := configForReload(file)
	if err != nil {
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
