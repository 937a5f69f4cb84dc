package conformance

import (
	"bytes"
	"fmt"
	"net"
	"sync"
	"time"
)

// backendServer is the scripted backend of one case (README §4.5). It
// accepts every connection and counts them; when the case has a backend
// script it plays it on the first connection and closes any other one at
// once. After the script finished it keeps the connection open and
// records whatever else arrives.
type backendServer struct {
	ln     net.Listener
	script []Step
	vars   *Vars
	done   chan struct{} // closed by stop

	finished chan struct{} // closed when the script ended (ok or not)

	mu    sync.Mutex
	conns int
	open  []net.Conn
	err   error
	extra []byte
	wg    sync.WaitGroup
}

// startBackend serves script on ln until stop is called.
func startBackend(ln net.Listener, script []Step, vars *Vars) *backendServer {
	s := &backendServer{ln: ln, script: script, vars: vars,
		done: make(chan struct{}), finished: make(chan struct{})}
	s.wg.Add(1)
	go s.accept()
	return s
}

func (s *backendServer) accept() {
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
		s.conns++
		first := s.conns == 1 && len(s.script) > 0
		if first {
			s.open = append(s.open, c)
			s.wg.Add(1)
		}
		s.mu.Unlock()
		if !first {
			c.Close()
			continue
		}
		go s.serve(c)
	}
}

// serve plays the script on c, then records extra bytes until stop.
func (s *backendServer) serve(c net.Conn) {
	defer s.wg.Done()
	defer c.Close()
	closed, err := s.play(c)
	s.mu.Lock()
	s.err = err
	s.mu.Unlock()
	close(s.finished)
	if err != nil || closed {
		<-s.done
		return
	}
	_ = c.SetReadDeadline(time.Time{})
	buf := make([]byte, 65536)
	for {
		n, err := c.Read(buf)
		s.mu.Lock()
		s.extra = append(s.extra, buf[:n]...)
		s.mu.Unlock()
		if err != nil {
			break
		}
	}
	<-s.done
}

// play runs the script; closed reports a backend-close step.
func (s *backendServer) play(c net.Conn) (closed bool, err error) {
	for _, st := range s.script {
		switch st.Op {
		case "send":
			b, err := s.vars.Subst(st.Data)
			if err != nil {
				return false, err
			}
			if _, err := c.Write(b); err != nil {
				return false, fmt.Errorf("backend-send (line %d): %v", st.Line, err)
			}
		case "expect":
			want, err := s.vars.Subst(st.Data)
			if err != nil {
				return false, err
			}
			got, eof := readExact(c, len(want), readLimit)
			if !bytes.Equal(got, want) {
				return false, fmt.Errorf("backend-expect (line %d): want %q got %q%s",
					st.Line, want, got, eofNote(eof))
			}
		case "sleep":
			if !sleepUnless(st.Seconds, s.done) {
				return false, fmt.Errorf("backend-sleep (line %d): case ended", st.Line)
			}
		case "close":
			_ = c.Close()
			return true, nil
		case "closed":
			if r := waitClosed(c, st.Seconds); r != "" {
				return false, fmt.Errorf("backend-closed (line %d): %s", st.Line, r)
			}
		default:
			return false, fmt.Errorf("unknown backend step %q", st.Op)
		}
	}
	return false, nil
}

// backendResult is what the backend saw so far.
type backendResult struct {
	conns int    // connections accepted
	err   error  // script failure
	extra []byte // bytes received after the script finished
}

// result returns what the backend saw so far.
func (s *backendServer) result() backendResult {
	s.mu.Lock()
	defer s.mu.Unlock()
	return backendResult{conns: s.conns, err: s.err, extra: bytes.Clone(s.extra)}
}

// stop closes the listener and the connection and waits for the
// goroutines.
func (s *backendServer) stop() {
	s.mu.Lock()
	close(s.done)
	open := s.open
	s.mu.Unlock()
	_ = s.ln.Close()
	for _, c := range open {
		_ = c.Close()
	}
	s.wg.Wait()
}

// sleepUnless waits for d unless done is closed first; it reports whether
// the whole duration passed.
func sleepUnless(d time.Duration, done <-chan struct{}) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-done:
		return false
	}
}
