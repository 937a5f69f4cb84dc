//go:build !linux

package main

import "mailproxy/config"

// threadsDropped has nothing to check where setuid applies to the whole
// process.
func threadsDropped(*config.User) error { return nil }
