package main

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"strings"
)

// smtpClient is the SMTP submission client: EHLO, AUTH PLAIN, NOOP, one
// message (MAIL, RCPT, DATA), QUIT.
type smtpClient struct{}

func (smtpClient) greet(s *session) error {
	if _, err := s.smtpReply("220"); err != nil {
		return fmt.Errorf("greeting: %w", err)
	}
	return nil
}

func (smtpClient) login(s *session, user, pass string) error {
	if err := s.smtpCommand("EHLO mailload.example", "250"); err != nil {
		return fmt.Errorf("ehlo: %w", err)
	}
	ir := base64.StdEncoding.EncodeToString([]byte("\x00" + user + "\x00" + pass))
	return s.smtpCommand("AUTH PLAIN "+ir, "235")
}

func (smtpClient) noop(s *session) error { return s.smtpCommand("NOOP", "250") }

func (smtpClient) transfer(s *session, cfg config) (int64, error) {
	if err := s.smtpCommand("MAIL FROM:<"+cfg.user+"@mailload.example>", "250"); err != nil {
		return 0, fmt.Errorf("mail: %w", err)
	}
	if err := s.smtpCommand("RCPT TO:<"+cfg.user+"@mailload.example>", "250"); err != nil {
		return 0, fmt.Errorf("rcpt: %w", err)
	}
	if err := s.smtpCommand("DATA", "354"); err != nil {
		return 0, fmt.Errorf("data: %w", err)
	}
	s.touch()
	if _, err := s.c.Write(cfg.message); err != nil {
		return 0, fmt.Errorf("message: %w", err)
	}
	if _, err := s.smtpReply("250"); err != nil {
		return 0, fmt.Errorf("end of data: %w", err)
	}
	return int64(len(cfg.message) - len(".\r\n")), nil
}

func (smtpClient) quit(s *session) error { return s.smtpCommand("QUIT", "221") }

// smtpCommand sends cmd and reads its reply, whose code must be want.
func (s *session) smtpCommand(cmd, want string) error {
	s.touch()
	if _, err := io.WriteString(s.c, cmd+"\r\n"); err != nil {
		return err
	}
	_, err := s.smtpReply(want)
	return err
}

// smtpReply reads a (multi-line) reply; a code other than want is an
// error, 535 (invalid credentials) a refusal. It returns the last line.
func (s *session) smtpReply(want string) (string, error) {
	for {
		l, err := s.r.ReadString('\n')
		if err != nil {
			return "", err
		}
		if len(l) < 4 {
			return l, fmt.Errorf("short reply %q", strings.TrimSpace(l))
		}
		if l[3] == '-' {
			continue
		}
		switch {
		case strings.HasPrefix(l, want):
		case strings.HasPrefix(l, "535"):
			return l, refusal(strings.TrimSpace(l))
		default:
			return l, fmt.Errorf("%s", strings.TrimSpace(l))
		}
		return l, nil
	}
}

// smtpMessage makes a message of exactly size bytes (at least its header
// and a line), in CRLF lines of at most 78 bytes none of which starts with a
// dot, followed by the ".\r\n" that ends DATA.
func smtpMessage(size int) []byte {
	var b bytes.Buffer
	b.WriteString("From: <mailload@mailload.example>\r\nSubject: mailload\r\n\r\n")
	line := strings.Repeat("x", 76) + "\r\n"
	for b.Len()+len(line) <= size {
		b.WriteString(line)
	}
	switch rest := size - b.Len(); {
	case rest >= 3:
		b.WriteString(strings.Repeat("y", rest-2) + "\r\n")
	case rest > 0 && b.Len() >= len(line)+60: // lengthen the last line
		b.Truncate(b.Len() - len(line))
		b.WriteString(strings.Repeat("x", len(line)-2+rest) + "\r\n")
	}
	b.WriteString(".\r\n")
	return b.Bytes()
}
