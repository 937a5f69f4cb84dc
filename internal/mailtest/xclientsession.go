package mailtest

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"fmt"
	"net"
	"slices"
	"strings"
)

const (
	// maxSMTPLine bounds a command line of the XCLIENT backend.
	maxSMTPLine = 16 << 10
	// maxDataLine bounds one line of message data.
	maxDataLine = 1 << 20
)

// xclientGreeting is the banner sent at connect and after XCLIENT.
const xclientGreeting = "220 " + SMTPDomain + " ESMTP mailtest XCLIENT backend"

// xclientEHLO is the EHLO answer after the first line.
var xclientEHLO = []string{"PIPELINING", "8BITMIME", "XCLIENT NAME ADDR PORT PROTO HELO LOGIN", "AUTH PLAIN"}

// xclientSession is the state of one connection.
type xclientSession struct {
	b      *XCLIENTBackend
	rec    *xclientRecord
	r      *bufio.Reader
	w      *bufio.Writer
	remote string

	helo     string // last HELO/EHLO name, or XCLIENT's HELO= (xtext-decoded)
	xclient  string // last XCLIENT line, raw
	authUser string
	authed   bool

	inMail bool // MAIL accepted
	from   string
	to     []string
}

func newXCLIENTSession(b *XCLIENTBackend, c net.Conn) *xclientSession {
	remote := c.RemoteAddr().String()
	return &xclientSession{
		b:      b,
		rec:    b.newRecord(remote),
		r:      bufio.NewReaderSize(c, 4096),
		w:      bufio.NewWriterSize(c, 4096),
		remote: remote,
	}
}

// run greets and answers commands until QUIT, an error or an over-long
// line. Answers are flushed before the next line is read, so pipelined
// commands are answered in order.
func (s *xclientSession) run() {
	s.reply(xclientGreeting)
	for s.w.Flush() == nil {
		line, err := readLine(s.r, maxSMTPLine)
		if err == errLineTooLong {
			s.reply("500 5.5.2 Line too long")
			s.w.Flush()
			return
		}
		if err != nil {
			return
		}
		s.b.addCommand(s.rec, string(line))
		if quit := s.command(line); quit {
			s.w.Flush()
			return
		}
	}
}

// command answers one command line (raw, with its terminator) and reports
// whether the session ends.
func (s *xclientSession) command(raw []byte) (quit bool) {
	verb, arg, _ := strings.Cut(string(trimEOL(raw)), " ")
	switch strings.ToUpper(verb) {
	case "EHLO", "HELO":
		s.hello(strings.ToUpper(verb) == "EHLO", arg)
	case "XCLIENT":
		s.xclientCommand(string(raw), arg)
	case "AUTH":
		return s.auth(arg)
	case "MAIL":
		s.mail(arg)
	case "RCPT":
		s.rcpt(arg)
	case "DATA":
		return s.data()
	case "RSET":
		s.reset()
		s.reply("250 2.0.0 Ok")
	case "NOOP":
		s.reply("250 2.0.0 Ok")
	case "QUIT":
		s.reply("221 2.0.0 Bye")
		return true
	default:
		s.reply("500 5.5.2 Error: command not recognized")
	}
	return false
}

// hello answers EHLO (esmtp) or HELO and ends any mail transaction.
func (s *xclientSession) hello(esmtp bool, name string) {
	if name == "" {
		s.reply("501 5.5.4 Syntax: EHLO/HELO domain")
		return
	}
	s.helo = name
	s.reset()
	if !esmtp {
		s.reply("250 " + SMTPDomain)
		return
	}
	s.reply("250-" + SMTPDomain)
	for i, ext := range xclientEHLO {
		sep := "-"
		if i == len(xclientEHLO)-1 {
			sep = " "
		}
		s.reply("250" + sep + ext)
	}
}

// xclientCommand accepts "XCLIENT NAME=VALUE ..." outside a transaction
// and answers with a new greeting, like Postfix: the session starts over,
// forgetting the HELO name (unless HELO= gives a new one) and any AUTH.
func (s *xclientSession) xclientCommand(raw, arg string) {
	if s.inMail {
		s.reply("503 5.5.1 Error: MAIL transaction in progress")
		return
	}
	attrs := strings.Fields(arg)
	if len(attrs) == 0 {
		s.reply("501 5.5.4 Syntax: XCLIENT attribute=value...")
		return
	}
	helo := ""
	for _, a := range attrs {
		name, value, ok := strings.Cut(a, "=")
		if !ok || name == "" {
			s.reply("501 5.5.4 Bad XCLIENT attribute " + a)
			return
		}
		if strings.EqualFold(name, "HELO") {
			helo = xtextDecode(value)
		}
	}
	s.xclient = raw
	s.helo, s.authUser, s.authed = helo, "", false
	s.reply(xclientGreeting)
}

// auth answers AUTH PLAIN, with or without an initial response ("=" is
// an empty one), accepting any well-formed credentials. It reports whether
// the session ends (the continuation line could not be read).
func (s *xclientSession) auth(arg string) (quit bool) {
	mech, resp, hasResp := strings.Cut(arg, " ")
	switch {
	case s.authed:
		s.reply("503 5.5.1 Error: already authenticated")
		return false
	case s.inMail:
		s.reply("503 5.5.1 Error: MAIL transaction in progress")
		return false
	case !strings.EqualFold(mech, "PLAIN"):
		s.reply("504 5.5.4 Unrecognized authentication type")
		return false
	}
	if !hasResp {
		s.reply("334 ")
		if s.w.Flush() != nil {
			return true
		}
		line, err := readLine(s.r, maxSMTPLine)
		if err != nil {
			return true
		}
		resp = string(trimEOL(line))
	}
	if resp == "*" {
		s.reply("501 5.7.0 Authentication cancelled")
		return false
	}
	if resp == "=" {
		resp = ""
	}
	dec, err := base64.StdEncoding.DecodeString(resp)
	parts := bytes.Split(dec, []byte{0})
	if err != nil || len(parts) != 3 || len(parts[1]) == 0 {
		s.reply("501 5.5.2 Invalid PLAIN response")
		return false
	}
	s.authUser, s.authed = string(parts[1]), true
	s.reply("235 2.7.0 Authentication successful")
	return false
}

// mail answers MAIL FROM:<path> [parameters].
func (s *xclientSession) mail(arg string) {
	if s.inMail {
		s.reply("503 5.5.1 Error: nested MAIL command")
		return
	}
	from, ok := parsePath(arg, "FROM:")
	if !ok {
		s.reply("501 5.5.4 Syntax: MAIL FROM:<address>")
		return
	}
	s.inMail, s.from = true, from
	s.reply("250 2.1.0 Ok")
}

// rcpt answers RCPT TO:<path> [parameters].
func (s *xclientSession) rcpt(arg string) {
	if !s.inMail {
		s.reply("503 5.5.1 Error: need MAIL command")
		return
	}
	to, ok := parsePath(arg, "TO:")
	if !ok || to == "" {
		s.reply("501 5.5.4 Syntax: RCPT TO:<address>")
		return
	}
	s.to = append(s.to, to)
	s.reply("250 2.1.5 Ok")
}

// data answers DATA, reads the message and records it. It reports whether
// the session ends (the message could not be read).
func (s *xclientSession) data() (quit bool) {
	if len(s.to) == 0 {
		s.reply("503 5.5.1 Error: need RCPT command")
		return false
	}
	s.reply("354 End data with <CR><LF>.<CR><LF>")
	if s.w.Flush() != nil {
		return true
	}
	data, tooBig, err := readDotStuffed(s.r)
	if err != nil {
		return true
	}
	defer s.reset()
	if tooBig {
		s.reply("552 5.3.4 Message too big")
		return false
	}
	n := s.b.addMessage(SMTPMessage{
		From: s.from, To: slices.Clone(s.to), Data: data,
		Helo: s.helo, RemoteAddr: s.remote, AuthUser: s.authUser, XCLIENT: s.xclient,
	})
	s.reply(fmt.Sprintf("250 2.0.0 Ok: queued as %d", n))
	return false
}

// reset ends the mail transaction.
func (s *xclientSession) reset() {
	s.inMail, s.from, s.to = false, "", nil
}

// reply queues one line; run flushes it.
func (s *xclientSession) reply(line string) {
	s.w.WriteString(line)
	s.w.WriteString("\r\n")
}

// readDotStuffed reads message data up to a line holding only "." and
// returns it with the leading dot of other dot-started lines removed and
// every other byte as sent. Data past maxSMTPMessage is read but dropped,
// with tooBig set. A line over maxDataLine, EOF or a read error is err.
func readDotStuffed(r *bufio.Reader) (data []byte, tooBig bool, err error) {
	for {
		line, err := readLine(r, maxDataLine)
		if err != nil {
			return nil, false, err
		}
		if string(trimEOL(line)) == "." {
			return data, tooBig, nil
		}
		if line[0] == '.' {
			line = line[1:]
		}
		if len(data)+len(line) > maxSMTPMessage {
			tooBig = true
			continue
		}
		data = append(data, line...)
	}
}

// parsePath parses prefix (e.g. "FROM:", any case) followed by "<path>"
// or a bare path and optional parameters, and returns the path without
// angle brackets. "<>" gives "".
func parsePath(arg, prefix string) (string, bool) {
	if len(arg) < len(prefix) || !strings.EqualFold(arg[:len(prefix)], prefix) {
		return "", false
	}
	rest := strings.TrimLeft(arg[len(prefix):], " ")
	if strings.HasPrefix(rest, "<") {
		end := strings.IndexByte(rest, '>')
		if end < 0 {
			return "", false
		}
		return rest[1:end], true
	}
	path, _, _ := strings.Cut(rest, " ")
	return path, path != ""
}

// isXCLIENT reports whether a raw command line is an XCLIENT command.
func isXCLIENT(line string) bool {
	verb, _, _ := strings.Cut(string(trimEOL([]byte(line))), " ")
	return strings.EqualFold(verb, "XCLIENT")
}

// xtextDecode undoes RFC 3461 xtext ("+HH" is the byte 0xHH), as used in
// XCLIENT values. A malformed "+" is kept as is.
func xtextDecode(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '+' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			b.WriteByte(unhex(s[i+1])<<4 | unhex(s[i+2]))
			i += 2
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// isHex reports whether c is a hexadecimal digit.
func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// unhex returns the value of the hexadecimal digit c.
func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c >= 'a':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}
