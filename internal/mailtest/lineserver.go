package mailtest

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"time"
)

// Timeouts of the hand-written backends (POP3 and XCLIENT SMTP).
const (
	// idleTimeout bounds every read: a client silent for this long is
	// disconnected (RFC 1939 asks for at least 10 minutes).
	idleTimeout = 10 * time.Minute
	// writeTimeout bounds every write to a client.
	writeTimeout = time.Minute
)

// Server is an accept loop with its connection bookkeeping, shared by
// the hand-written backends here and the benchmark's: one goroutine per
// connection runs the handler, and Close stops accepting, closes every
// connection and waits until every handler has returned.
type Server struct {
	ln       net.Listener
	handle   func(net.Conn)
	acceptWG sync.WaitGroup // the accept loop
	connWG   sync.WaitGroup // the handlers
	once     sync.Once

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
}

// Serve accepts connections on ln and runs handle for each one, in a
// goroutine of its own, until Close. The connection is closed when
// handle returns.
func Serve(ln net.Listener, handle func(net.Conn)) *Server {
	s := &Server{ln: ln, handle: handle, conns: make(map[net.Conn]struct{})}
	s.acceptWG.Add(1)
	go s.acceptLoop()
	return s
}

// startLineServer listens on addr and runs handle for each connection
// until Close, on a conn whose every Read and Write has a deadline
// (idleTimeout, writeTimeout).
func startLineServer(addr string, handle func(net.Conn)) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("mailtest: %w", err)
	}
	return Serve(ln, func(c net.Conn) { handle(timeoutConn{c}) }), nil
}

// Addr returns the listening address, "host:port".
func (s *Server) Addr() string { return s.ln.Addr().String() }

// acceptLoop accepts until the listener is closed. Other accept errors
// (e.g. too many open files) are retried after a short pause.
func (s *Server) acceptLoop() {
	defer s.acceptWG.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) || s.isClosed() {
				return
			}
			time.Sleep(10 * time.Millisecond)
			continue
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			c.Close()
			return
		}
		s.conns[c] = struct{}{}
		s.connWG.Add(1) // under mu, so it happens before Close's Wait
		s.mu.Unlock()
		go func() {
			defer s.connWG.Done()
			defer func() {
				s.mu.Lock()
				delete(s.conns, c)
				s.mu.Unlock()
				c.Close()
			}()
			s.handle(c)
		}()
	}
}

// isClosed reports whether Close has begun.
func (s *Server) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// Close stops the server: the listener and every connection are closed,
// then it waits for the accept loop and every handler. Later calls do
// nothing.
func (s *Server) Close() {
	s.once.Do(func() {
		s.mu.Lock()
		s.closed = true
		s.ln.Close()
		for c := range s.conns {
			c.Close()
		}
		s.mu.Unlock()
		s.acceptWG.Wait()
		s.connWG.Wait()
	})
}

// timeoutConn sets a fresh deadline before every Read (idleTimeout) and
// Write (writeTimeout), so a stalled peer cannot hold a handler forever.
type timeoutConn struct{ net.Conn }

func (c timeoutConn) Read(p []byte) (int, error) {
	c.Conn.SetReadDeadline(time.Now().Add(idleTimeout))
	return c.Conn.Read(p)
}

func (c timeoutConn) Write(p []byte) (int, error) {
	c.Conn.SetWriteDeadline(time.Now().Add(writeTimeout))
	return c.Conn.Write(p)
}
