package bench

import (
	"bufio"
	"crypto/tls"
	"errors"
	"net"
	"sync"
	"time"
)

// server accepts connections on a loopback listener and runs one handler
// goroutine per connection, each with a 4 KiB reader and writer. Close
// stops it and every connection it holds.
type server struct {
	ln     net.Listener
	handle func(c net.Conn, r *bufio.Reader, w *bufio.Writer)

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup
}

// listen starts a server on addr ("127.0.0.1:0" for a free port), over
// TLS when tlsConf is not nil.
func listen(addr string, tlsConf *tls.Config, handle func(c net.Conn, r *bufio.Reader, w *bufio.Writer)) (*server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	if tlsConf != nil {
		ln = tls.NewListener(ln, tlsConf)
	}
	s := &server{ln: ln, handle: handle, conns: map[net.Conn]struct{}{}}
	s.wg.Add(1)
	go s.accept()
	return s, nil
}

// Addr is the listening address, "host:port".
func (s *server) Addr() string { return s.ln.Addr().String() }

func (s *server) accept() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			time.Sleep(5 * time.Millisecond) // e.g. out of descriptors
			continue
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			c.Close()
			return
		}
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go func() {
			defer s.wg.Done()
			defer func() {
				s.mu.Lock()
				delete(s.conns, c)
				s.mu.Unlock()
				c.Close()
			}()
			s.handle(c, bufio.NewReaderSize(c, 4096), bufio.NewWriterSize(c, 4096))
		}()
	}
}

// Close stops accepting, closes every connection and waits for the
// handlers to return.
func (s *server) Close() {
	s.mu.Lock()
	s.closed = true
	s.ln.Close()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// readLine returns the next line, CRLF included, valid until the next
// read; a line longer than the reader's buffer is an error.
func readLine(r *bufio.Reader) ([]byte, error) {
	return r.ReadSlice('\n')
}

// flushIdle flushes w when the client has sent nothing more, so that
// pipelined commands are answered in one write.
func flushIdle(r *bufio.Reader, w *bufio.Writer) error {
	if r.Buffered() > 0 {
		return nil
	}
	return w.Flush()
}

// word splits line (CRLF stripped) at its first space.
func word(line []byte) (first, rest []byte) {
	line = trimCRLF(line)
	for i, b := range line {
		if b == ' ' {
			return line[:i], line[i+1:]
		}
	}
	return line, nil
}

func trimCRLF(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}
