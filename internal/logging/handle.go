package logging

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
)

// Handle is the destination behind a logger made by New: an io.Writer
// whose underlying file can be swapped while the logger is in use, plus
// the logger's level. Safe for concurrent use.
type Handle struct {
	level slog.LevelVar

	mu     sync.Mutex
	path   string    // "" for stderr
	w      io.Writer // current destination
	f      *os.File  // the open log file, nil for stderr
	closed bool
}

// Write writes one log record to the current destination; slog hands
// each record over in one Write, so records are never interleaved.
func (h *Handle) Write(p []byte) (int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return 0, os.ErrClosed
	}
	return h.w.Write(p)
}

// Reopen opens the log file's path again (append, created 0640) and
// switches to it, then closes the previous file: records already written
// stay in the renamed file, later ones go to the new one. If the path
// cannot be opened the old file is kept and the error returned. With
// stderr as destination it does nothing.
func (h *Handle) Reopen() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return os.ErrClosed
	}
	if h.f == nil {
		return nil
	}
	f, err := openLog(h.path)
	if err != nil {
		return err
	}
	old := h.f
	h.w, h.f = f, f
	return old.Close()
}

// Close closes the log file (stderr is left open); later writes fail
// with os.ErrClosed. Close is idempotent.
func (h *Handle) Close() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil
	}
	h.closed = true
	if h.f != nil {
		return h.f.Close()
	}
	return nil
}

// SetLevel changes the level of the logger New returned with this Handle
// (e.g. after a reload changed log_level); names as in ParseLevel.
func (h *Handle) SetLevel(level string) error {
	lv, err := ParseLevel(level)
	if err != nil {
		return err
	}
	h.level.Set(lv)
	return nil
}

func openLog(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return nil, fmt.Errorf("error_log: %w", err)
	}
	return f, nil
}
