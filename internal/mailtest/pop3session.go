package mailtest

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"strconv"
	"strings"
)

// maxPOP3Line bounds a POP3 command line, CRLF included. RFC 2449 allows
// 255 octets; more is accepted so long passwords still fit.
const maxPOP3Line = 1024

// pop3Capabilities is the CAPA answer, without the final ".".
var pop3Capabilities = []string{"TOP", "USER", "UIDL", "RESP-CODES", "AUTH-RESP-CODE", "PIPELINING", "IMPLEMENTATION mailtest"}

// pop3Session is the state of one connection.
type pop3Session struct {
	b *POP3Backend
	r *bufio.Reader
	w *bufio.Writer

	user     string         // from USER, until PASS
	loggedIn bool           // TRANSACTION state
	msgs     []*pop3Message // snapshot taken at PASS
	deleted  []bool         // marks of DELE, by index into msgs
}

func newPOP3Session(b *POP3Backend, c net.Conn) *pop3Session {
	return &pop3Session{b: b, r: bufio.NewReaderSize(c, 4096), w: bufio.NewWriterSize(c, 64<<10)}
}

// run greets the client and answers commands until QUIT, a read or write
// error, or an over-long line. Every answer is flushed before the next
// command is read, so pipelined commands are answered in order.
func (s *pop3Session) run() {
	s.reply("+OK mailtest POP3 backend ready")
	for s.w.Flush() == nil {
		line, err := readLine(s.r, maxPOP3Line)
		if err == errLineTooLong {
			s.reply("-ERR line too long")
			s.w.Flush()
			return
		}
		if err != nil {
			return
		}
		if quit := s.command(string(trimEOL(line))); quit {
			s.w.Flush()
			return
		}
	}
}

// command answers one command line and reports whether the session ends.
func (s *pop3Session) command(line string) (quit bool) {
	verb, arg, _ := strings.Cut(line, " ")
	verb = strings.ToUpper(verb)
	switch verb {
	case "QUIT":
		s.quit()
		return true
	case "CAPA":
		s.reply("+OK capability list follows")
		for _, c := range pop3Capabilities {
			s.reply(c)
		}
		s.reply(".")
		return false
	case "NOOP":
		if s.loggedIn {
			s.reply("+OK")
			return false
		}
	}
	if !s.loggedIn {
		s.authorization(verb, arg)
	} else {
		s.transaction(verb, arg)
	}
	return false
}

// authorization answers a command in the AUTHORIZATION state.
func (s *pop3Session) authorization(verb, arg string) {
	switch verb {
	case "USER":
		if arg == "" {
			s.reply("-ERR USER needs a name")
			return
		}
		s.user = arg
		s.reply("+OK send PASS")
	case "PASS":
		if s.user == "" {
			s.reply("-ERR send USER first")
			return
		}
		msgs, ok := s.b.login(s.user, arg)
		if !ok {
			s.user = ""
			s.reply("-ERR [AUTH] invalid user name or password")
			return
		}
		s.loggedIn, s.msgs, s.deleted = true, msgs, make([]bool, len(msgs))
		s.reply(fmt.Sprintf("+OK %s has %d messages", s.user, len(msgs)))
	default:
		s.reply("-ERR command not valid before login")
	}
}

// transaction answers a command in the TRANSACTION state.
func (s *pop3Session) transaction(verb, arg string) {
	switch verb {
	case "STAT":
		n, size := s.count()
		s.reply(fmt.Sprintf("+OK %d %d", n, size))
	case "LIST", "UIDL":
		s.listing(verb, arg)
	case "RETR":
		if i, ok := s.message(arg); ok {
			s.reply(fmt.Sprintf("+OK %d octets", len(s.msgs[i].data)))
			writeDotStuffed(s.w, s.msgs[i].data)
		}
	case "TOP":
		num, lines, _ := strings.Cut(arg, " ")
		k, err := strconv.Atoi(lines)
		if err != nil || k < 0 {
			s.reply("-ERR usage: TOP msg lines")
			return
		}
		if i, ok := s.message(num); ok {
			s.reply("+OK top of message follows")
			writeDotStuffed(s.w, top(s.msgs[i].data, k))
		}
	case "DELE":
		if i, ok := s.message(arg); ok {
			s.deleted[i] = true
			s.reply(fmt.Sprintf("+OK message %d deleted", i+1))
		}
	case "RSET":
		clear(s.deleted)
		n, size := s.count()
		s.reply(fmt.Sprintf("+OK maildrop has %d messages (%d octets)", n, size))
	case "USER", "PASS":
		s.reply("-ERR already logged in")
	default:
		s.reply("-ERR unknown command")
	}
}

// listing answers LIST or UIDL, with or without a message number.
func (s *pop3Session) listing(verb, arg string) {
	value := func(i int) string {
		if verb == "UIDL" {
			return s.msgs[i].uid
		}
		return strconv.Itoa(len(s.msgs[i].data))
	}
	if arg != "" {
		if i, ok := s.message(arg); ok {
			s.reply(fmt.Sprintf("+OK %d %s", i+1, value(i)))
		}
		return
	}
	n, size := s.count()
	s.reply(fmt.Sprintf("+OK %d messages (%d octets)", n, size))
	for i := range s.msgs {
		if !s.deleted[i] {
			s.reply(fmt.Sprintf("%d %s", i+1, value(i)))
		}
	}
	s.reply(".")
}

// quit ends the session; in the TRANSACTION state it first removes the
// messages marked deleted (the UPDATE state).
func (s *pop3Session) quit() {
	if !s.loggedIn {
		s.reply("+OK bye")
		return
	}
	gone := make(map[*pop3Message]bool)
	for i, d := range s.deleted {
		if d {
			gone[s.msgs[i]] = true
		}
	}
	left := s.b.expunge(s.user, gone)
	s.reply(fmt.Sprintf("+OK bye (%d messages left)", left))
}

// count returns the number and total size of the messages not deleted.
func (s *pop3Session) count() (n, size int) {
	for i, m := range s.msgs {
		if !s.deleted[i] {
			n++
			size += len(m.data)
		}
	}
	return n, size
}

// message parses a message number and returns its index. For a bad,
// unknown or deleted number it replies -ERR and returns ok false.
func (s *pop3Session) message(arg string) (i int, ok bool) {
	n, err := strconv.Atoi(arg)
	switch {
	case err != nil || strings.ContainsAny(arg, "+-"):
		s.reply("-ERR invalid message number")
	case n < 1 || n > len(s.msgs):
		s.reply("-ERR no such message")
	case s.deleted[n-1]:
		s.reply("-ERR message already deleted")
	default:
		return n - 1, true
	}
	return 0, false
}

// reply queues one line; run flushes it.
func (s *pop3Session) reply(line string) {
	s.w.WriteString(line)
	s.w.WriteString("\r\n")
}

// writeDotStuffed writes data as a POP3 multi-line body: every line that
// starts with "." gets another ".", a CRLF is added if data does not end
// with a line break, and the terminating ".\r\n" follows. Line endings are
// otherwise sent as stored.
func writeDotStuffed(w *bufio.Writer, data []byte) {
	for len(data) > 0 {
		line := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line = data[:i+1]
		}
		data = data[len(line):]
		if line[0] == '.' {
			w.WriteByte('.')
		}
		w.Write(line)
		if line[len(line)-1] != '\n' {
			w.WriteString("\r\n")
		}
	}
	w.WriteString(".\r\n")
}

// top returns the header block of msg, the empty line after it and the
// first k lines of the body (RFC 1939 TOP). A message without an empty
// line is all header.
func top(msg []byte, k int) []byte {
	end := 0
	inHeader := true
	for end < len(msg) {
		next := len(msg)
		if i := bytes.IndexByte(msg[end:], '\n'); i >= 0 {
			next = end + i + 1
		}
		line := msg[end:next]
		if !inHeader {
			if k == 0 {
				break
			}
			k--
		} else if len(trimEOL(line)) == 0 {
			inHeader = false
		}
		end = next
	}
	return msg[:end]
}
