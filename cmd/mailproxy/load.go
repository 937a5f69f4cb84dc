package main

import (
	"log/slog"

	"mailproxy/config"
	"mailproxy/proxy"
)

// load reads and validates the configuration (every TLS file read once,
// the TLS settings built) and builds the server from it (auth URLs
// resolved), so that -t, a start and a reload report every configuration
// error the same way. The server is the one a start serves, so nothing is
// loaded twice; it logs nothing until serve gives it the configured
// logger.
func load(file string) (*config.Config, *proxy.Server, error) {
	cfg, err := config.Load(file)
	if err != nil {
		return nil, nil, err
	}
	return build(cfg)
}

// build makes the server of a loaded configuration, with a logger that
// discards everything.
func build(cfg *config.Config) (*config.Config, *proxy.Server, error) {
	srv, err := proxy.New(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		return nil, nil, err
	}
	return cfg, srv, nil
}
