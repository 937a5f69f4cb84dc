//go:build linux

package evloop

import (
	"net"
	"sync"
	"syscall"
)

// sysfd is a descriptor held open while system calls use it, so that a
// Close from another goroutine can never let a call reach another socket
// that reuses the number: the descriptor is closed when the last call
// using it ends.
type sysfd struct {
	mu     sync.Mutex
	fd     int
	refs   int
	closed bool // Close was called
	shut   bool // fd is closed
}

// acquire holds fd open for a system call; net.ErrClosed after close.
func (s *sysfd) acquire() (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return -1, net.ErrClosed
	}
	s.refs++
	return s.fd, nil
}

// release ends a call started with acquire.
func (s *sysfd) release() {
	s.mu.Lock()
	s.refs--
	s.closeIfIdle()
	s.mu.Unlock()
}

// close marks the descriptor closed (closing it now unless a call uses
// it); it reports false when it was closed already.
func (s *sysfd) close() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.closed = true
	s.closeIfIdle()
	return true
}

// isClosed reports whether close was called.
func (s *sysfd) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

func (s *sysfd) closeIfIdle() {
	if s.closed && s.refs == 0 && !s.shut {
		s.shut = true
		syscall.Close(s.fd) // also takes it out of every epoll set
	}
}

// control runs f on the descriptor held open.
func (s *sysfd) control(f func(fd int)) error {
	fd, err := s.acquire()
	if err != nil {
		return err
	}
	defer s.release()
	f(fd)
	return nil
}
