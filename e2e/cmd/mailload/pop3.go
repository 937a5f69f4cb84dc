package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strings"
)

// pop3Client is the POP3 client: USER/PASS, NOOP, RETR n, QUIT.
type pop3Client struct{}

func (pop3Client) greet(s *session) error {
	_, err := s.pop3Reply()
	if err != nil {
		return fmt.Errorf("greeting: %w", err)
	}
	return nil
}

func (pop3Client) login(s *session, user, pass string) error {
	if err := s.pop3Command("USER " + user); err != nil {
		return err
	}
	return s.pop3Command("PASS " + pass)
}

func (pop3Client) noop(s *session) error { return s.pop3Command("NOOP") }

func (pop3Client) transfer(s *session, cfg config) (int64, error) {
	if err := s.pop3Command("RETR " + cfg.msg); err != nil {
		return 0, fmt.Errorf("retr: %w", err)
	}
	// A large reader hands the body over in large slices.
	if s.r.Size() < bodyChunk {
		r := bufio.NewReaderSize(io.MultiReader(bytes.NewReader(peekAll(s.r)), s.c), bodyChunk)
		s.r = r
	}
	b := newBodyCheck(cfg)
	if err := readDotBody(s, b); err != nil {
		return 0, fmt.Errorf("retr: %w", err)
	}
	if err := b.done(); err != nil {
		return 0, err
	}
	return b.n, nil
}

func (pop3Client) quit(s *session) error { return s.pop3Command("QUIT") }

// peekAll returns a copy of what r has buffered.
func peekAll(r *bufio.Reader) []byte {
	p, _ := r.Peek(r.Buffered())
	return bytes.Clone(p)
}

// pop3Command sends cmd and reads its one-line reply, which must be +OK.
func (s *session) pop3Command(cmd string) error {
	s.touch()
	if _, err := io.WriteString(s.c, cmd+"\r\n"); err != nil {
		return err
	}
	_, err := s.pop3Reply()
	return err
}

// pop3Reply reads one reply line; anything but +OK is an error, -ERR a
// refusal.
func (s *session) pop3Reply() (string, error) {
	l, err := s.r.ReadString('\n')
	if err != nil {
		return "", err
	}
	switch {
	case strings.HasPrefix(l, "-ERR"):
		return l, refusal(strings.TrimSpace(l))
	case !strings.HasPrefix(l, "+OK"):
		return l, fmt.Errorf("%s", strings.TrimSpace(l))
	}
	return l, nil
}

// readDotBody reads a multi-line body up to its terminating ".\r\n" line
// and gives b the bytes before that line as they came (dot-stuffing is not
// undone). It searches whole buffers at a time rather than line by line.
func readDotBody(s *session, b *bodyCheck) error {
	atLineStart := true // the +OK line has just ended
	for {
		s.touch()
		if _, err := s.r.Peek(3); err != nil {
			return fmt.Errorf("body after %d bytes: %w", b.n, err)
		}
		buf, _ := s.r.Peek(s.r.Buffered())
		if atLineStart && bytes.HasPrefix(buf, []byte(".\r\n")) {
			s.r.Discard(3)
			return nil
		}
		if i := bytes.Index(buf, []byte("\n.\r\n")); i >= 0 {
			b.add(buf[:i+1])
			s.r.Discard(i + 4)
			return nil
		}
		// The last 3 bytes may begin the terminator: keep them.
		k := len(buf) - 3
		if k <= 0 {
			if _, err := s.r.Peek(len(buf) + 1); err != nil {
				return fmt.Errorf("body after %d bytes: %w", b.n, err)
			}
			continue
		}
		b.add(buf[:k])
		atLineStart = buf[k-1] == '\n'
		s.r.Discard(k)
	}
}
