package main

import (
	"log/slog"

	"mailproxy/config"
	"mailproxy/proxy"
)

// load reads and validates the configuration and builds the server's
// runtime state (certificates loaded, auth URLs resolved), so that -t, a
// start and a reload report every configuration error the same way.
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
