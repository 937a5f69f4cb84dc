package mailtest

import (
	"bytes"
	"sync"
)

// SyncBuffer is a bytes.Buffer safe for concurrent use: writers such as
// a child process's stderr, a logger or a recording backend, and readers
// that look at what has come so far. The zero value is ready to use.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns everything written so far.
func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Cap returns the capacity of the buffer's storage: the memory it holds.
func (s *SyncBuffer) Cap() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Cap()
}
