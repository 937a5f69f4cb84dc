package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"mailproxy/config"
	"mailproxy/proxy"
)

// serve binds every listener, writes the pid file, then serves until a
// signal says stop:
//   - SIGHUP reloads: the file is read and checked first; a bad file is
//     logged and the running configuration keeps serving;
//   - SIGQUIT stops accepting and lets sessions finish, up to
//     shutdown_timeout (then they are cut); a later SIGTERM/SIGINT cuts
//     them at once;
//   - SIGTERM/SIGINT stop at once.
//
// It returns the exit status.
func serve(file string, cfg *config.Config, log *slog.Logger) int {
	srv, err := proxy.New(cfg, log)
	if err != nil {
		log.Error("configuration", "err", err)
		return exitConfig
	}
	if err := srv.Listen(); err != nil {
		log.Error("cannot start", "err", err)
		return exitFail
	}
	if cfg.PID != "" {
		if err := os.WriteFile(cfg.PID, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
			log.Error("cannot write the pid file", "file", cfg.PID, "err", err)
			srv.Close()
			return exitFail
		}
		defer os.Remove(cfg.PID)
	}
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGQUIT, syscall.SIGHUP)
	defer signal.Stop(sigs)
	go handleSignals(sigs, file, cfg, srv, log)
	log.Info("mailproxy started", "version", version, "config", file)
	srv.Serve()
	srv.Shutdown(context.Background())
	log.Info("mailproxy stopped")
	return exitOK
}

// handleSignals acts on the signals serve subscribed to.
func handleSignals(sigs <-chan os.Signal, file string, cfg *config.Config, srv *proxy.Server, log *slog.Logger) {
	draining := false
	for sig := range sigs {
		switch sig {
		case syscall.SIGHUP:
			next, err := reload(file, srv)
			if err != nil {
				log.Error("reload failed; the running configuration keeps serving", "config", file, "err", err)
				continue
			}
			cfg = next
			log.Info("configuration reloaded", "config", file, "servers", len(cfg.Servers))
		case syscall.SIGQUIT:
			if draining {
				continue
			}
			draining = true
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
			log.Info("stopping", "signal", sig.String(), "sessions", srv.Sessions())
			srv.Close()
		}
	}
}

// reload loads file and switches srv to it.
func reload(file string, srv *proxy.Server) (*config.Config, error) {
	cfg, err := config.Load(file)
	if err != nil {
		return nil, err
	}
	if err := srv.Reload(cfg); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return cfg, nil
}
