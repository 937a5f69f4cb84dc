package main

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"mailproxy/config"
	"mailproxy/proxy"
)

// load reads and validates the configuration and builds the server's
// runtime state (certificates loaded, auth URLs resolved), so that both
// -t and a real start report every configuration error the same way.
func load(file string) (*config.Config, error) {
	cfg, err := config.Load(file)
	if err != nil {
		return nil, err
	}
	if _, err := proxy.New(cfg, slog.New(slog.DiscardHandler)); err != nil {
		return nil, err
	}
	return cfg, nil
}

// serve binds every listener, then serves until a signal says stop:
// SIGTERM/SIGINT stop at once, SIGQUIT stops accepting and lets sessions
// finish (a second SIGTERM/SIGINT then cuts them). SIGHUP is logged and
// ignored for now.
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
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGQUIT, syscall.SIGHUP)
	go func() {
		draining := false
		for sig := range sigs {
			switch sig {
			case syscall.SIGHUP:
				log.Warn("SIGHUP received: reload is not implemented yet; keeping the running configuration", "file", file)
			case syscall.SIGQUIT:
				if !draining {
					draining = true
					log.Info("SIGQUIT: no new connections; waiting for open sessions", "sessions", srv.Sessions())
					go srv.Shutdown(context.Background())
				}
			default:
				log.Info("stopping", "signal", sig.String(), "sessions", srv.Sessions())
				srv.Close()
			}
		}
	}()
	log.Info("mailproxy started", "version", version, "config", file)
	srv.Serve()
	srv.Shutdown(context.Background())
	log.Info("mailproxy stopped")
	return exitOK
}
