package main

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// imapClient is the IMAP client: LOGIN with quoted strings, NOOP,
// SELECT INBOX + FETCH n BODY.PEEK[], LOGOUT.
type imapClient struct{}

func (imapClient) greet(s *session) error {
	l, err := s.r.ReadString('\n')
	if err != nil || !strings.HasPrefix(l, "* OK") {
		return fmt.Errorf("greeting %q: %v", strings.TrimSpace(l), err)
	}
	return nil
}

func (imapClient) login(s *session, user, pass string) error {
	return s.imapCommand("LOGIN "+quote(user)+" "+quote(pass), nil)
}

func (imapClient) noop(s *session) error { return s.imapCommand("NOOP", nil) }

func (imapClient) transfer(s *session, cfg config) (int64, error) {
	s.touch()
	if err := s.imapCommand("SELECT INBOX", nil); err != nil {
		return 0, fmt.Errorf("select: %w", err)
	}
	bodies := 0
	var size int64
	err := s.imapCommand("FETCH "+cfg.msg+" BODY.PEEK[]", func(r io.Reader, n int64) error {
		b := newBodyCheck(cfg)
		if err := readN(r, n, b); err != nil {
			return err
		}
		if err := b.done(); err != nil {
			return err
		}
		bodies++
		size += n
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("fetch: %w", err)
	}
	if bodies != 1 {
		return 0, fmt.Errorf("fetch: %d bodies, want 1", bodies)
	}
	return size, nil
}

func (imapClient) quit(s *session) error { return s.imapCommand("LOGOUT", nil) }

// quote makes s an IMAP quoted string.
func quote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// imapCommand sends one command and reads to its tagged reply, which must
// be OK (a NO is a refusal). literal, when not nil, is given the reader and the size of each
// literal announced at the end of an untagged line, and must consume it.
// Each line read re-arms the deadline.
func (s *session) imapCommand(cmd string, literal func(r io.Reader, n int64) error) error {
	s.tag++
	tag := "m" + strconv.Itoa(s.tag)
	s.touch()
	if _, err := io.WriteString(s.c, tag+" "+cmd+"\r\n"); err != nil {
		return err
	}
	for {
		l, err := s.r.ReadString('\n')
		if err != nil {
			return err
		}
		if strings.HasPrefix(l, tag+" ") {
			switch rest := l[len(tag)+1:]; {
			case strings.HasPrefix(rest, "NO"):
				return refusal(strings.TrimSpace(l))
			case !strings.HasPrefix(rest, "OK"):
				return errors.New(strings.TrimSpace(l))
			}
			return nil
		}
		if n, ok := literalSize(l); ok {
			if literal == nil {
				literal = func(r io.Reader, n int64) error { _, err := io.CopyN(io.Discard, r, n); return err }
			}
			if err := literal(s.r, n); err != nil {
				return err
			}
		}
		s.touch()
	}
}

// literalSize reports the size of a literal announced at the end of l.
func literalSize(l string) (int64, bool) {
	l = strings.TrimRight(l, "\r\n")
	if !strings.HasSuffix(l, "}") {
		return 0, false
	}
	i := strings.LastIndexByte(l, '{')
	if i < 0 {
		return 0, false
	}
	n, err := strconv.ParseInt(strings.TrimSuffix(l[i+1:len(l)-1], "+"), 10, 64)
	if err != nil || n < 0 {
		return 0, false
	}
	return n, true
}
