package conformance

import (
	"bytes"
	"net"
	"sync"
	"time"
)

// authServer is the scripted auth_http service of one case (README §4.4).
// Every accepted connection is one auth request: the server reads it up to
// the first "\r\n\r\n", records it, then answers with the reply of the same
// index, or with nothing when the script has no reply left.
type authServer struct {
	ln      net.Listener
	replies []AuthReply
	vars    *Vars
	done    chan struct{} // closed by stop

	mu       sync.Mutex
	requests []authRequest
	conns    []net.Conn
	wg       sync.WaitGroup
}

// authRequest is one recorded request; complete is false while it is
// still being read.
type authRequest struct {
	data     []byte
	complete bool
}

// startAuthServer serves the scripted replies on ln until stop is called.
func startAuthServer(ln net.Listener, replies []AuthReply, vars *Vars) *authServer {
	s := &authServer{ln: ln, replies: replies, vars: vars, done: make(chan struct{})}
	s.wg.Add(1)
	go s.accept()
	return s
}

func (s *authServer) accept() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		select {
		case <-s.done:
			s.mu.Unlock()
			c.Close()
			return
		default:
		}
		idx := len(s.requests)
		s.requests = append(s.requests, authRequest{})
		s.conns = append(s.conns, c)
		s.wg.Add(1)
		s.mu.Unlock()
		go s.handle(c, idx)
	}
}

// handle reads one request and plays reply idx on it.
func (s *authServer) handle(c net.Conn, idx int) {
	defer s.wg.Done()
	defer c.Close()
	var data []byte
	buf := make([]byte, 65536)
	for !bytes.Contains(data, []byte("\r\n\r\n")) {
		// Like run_nginx.py, the 5 s limit applies to each read.
		_ = c.SetReadDeadline(time.Now().Add(readLimit))
		n, err := c.Read(buf)
		data = append(data, buf[:n]...)
		s.mu.Lock()
		s.requests[idx].data = bytes.Clone(data)
		s.mu.Unlock()
		if err != nil {
			break
		}
	}
	s.mu.Lock()
	s.requests[idx].complete = true
	s.mu.Unlock()
	if idx >= len(s.replies) {
		return
	}
	r := s.replies[idx]
	if r.Hold {
		s.sleep(r.HoldOn)
		return
	}
	if !s.sleep(r.Delay) {
		return
	}
	for i, chunk := range r.Chunks {
		if i > 0 && !s.sleep(r.Gap) {
			return
		}
		b, err := s.vars.Subst(chunk)
		if err != nil {
			return
		}
		if _, err := c.Write(b); err != nil {
			return
		}
	}
	s.sleep(50 * time.Millisecond)
}

// sleep waits for d or until the server stops; it reports whether the
// whole duration passed.
func (s *authServer) sleep(d time.Duration) bool {
	return sleepUnless(d, s.done)
}

// snapshot returns the requests recorded so far.
func (s *authServer) snapshot() []authRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]authRequest(nil), s.requests...)
}

// waitRequests waits up to limit until at least n requests were accepted
// and all of them are completely read.
func (s *authServer) waitRequests(n int, limit time.Duration) {
	end := time.Now().Add(limit)
	for time.Now().Before(end) {
		reqs := s.snapshot()
		ok := len(reqs) >= n
		for _, r := range reqs {
			ok = ok && r.complete
		}
		if ok {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop closes the listener and every connection and waits for the
// handlers.
func (s *authServer) stop() {
	s.mu.Lock()
	close(s.done)
	conns := s.conns
	s.mu.Unlock()
	_ = s.ln.Close()
	for _, c := range conns {
		_ = c.Close()
	}
	s.wg.Wait()
}
