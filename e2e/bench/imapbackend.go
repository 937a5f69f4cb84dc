package bench

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"strconv"
)

// imapBackend answers the few IMAP commands the benchmark sends: LOGIN
// (quoted, atoms or synchronizing literals, as nginx sends them; any
// credentials are accepted), NOOP, CAPABILITY, SELECT/EXAMINE (one
// message), FETCH (that message's whole body, whatever is asked), LOGOUT.
// Every reply is precomputed.
type imapBackend struct {
	fetch []byte // "* 1 FETCH (BODY[] {n}\r\n" message ")\r\n"
}

func newIMAPBackend(msg []byte) *imapBackend {
	var b bytes.Buffer
	b.WriteString("* 1 FETCH (BODY[] {" + strconv.Itoa(len(msg)) + "}\r\n")
	b.Write(msg)
	b.WriteString(")\r\n")
	return &imapBackend{fetch: b.Bytes()}
}

const (
	imapGreeting = "* OK [CAPABILITY IMAP4rev1] bench ready\r\n"
	imapSelect   = "* 1 EXISTS\r\n* 0 RECENT\r\n* FLAGS (\\Seen)\r\n* OK [UIDVALIDITY 1] UIDs valid\r\n* OK [UIDNEXT 2] next\r\n"
)

func (b *imapBackend) serve(c net.Conn, r *bufio.Reader, w *bufio.Writer) {
	if _, err := io.WriteString(c, imapGreeting); err != nil {
		return
	}
	for {
		line, err := readLine(r)
		if err != nil {
			return
		}
		tag, rest := word(line)
		tag = bytes.Clone(tag)
		cmd, _ := word(rest)
		reply := " OK completed\r\n"
		switch {
		case bytes.EqualFold(cmd, []byte("LOGIN")):
			if err := skipLiterals(line, r, w); err != nil {
				return
			}
			reply = " OK LOGIN completed\r\n"
		case bytes.EqualFold(cmd, []byte("NOOP")):
			reply = " OK NOOP completed\r\n"
		case bytes.EqualFold(cmd, []byte("CAPABILITY")):
			w.WriteString("* CAPABILITY IMAP4rev1\r\n")
		case bytes.EqualFold(cmd, []byte("SELECT")), bytes.EqualFold(cmd, []byte("EXAMINE")):
			w.WriteString(imapSelect)
			reply = " OK [READ-WRITE] SELECT completed\r\n"
		case bytes.EqualFold(cmd, []byte("FETCH")):
			if w.Flush() != nil {
				return
			}
			if _, err := c.Write(b.fetch); err != nil {
				return
			}
			reply = " OK FETCH completed\r\n"
		case bytes.EqualFold(cmd, []byte("LOGOUT")):
			w.WriteString("* BYE bench\r\n")
			w.Write(tag)
			w.WriteString(" OK LOGOUT completed\r\n")
			w.Flush()
			return
		default:
			reply = " BAD unknown command\r\n"
		}
		w.Write(tag)
		w.WriteString(reply)
		if flushIdle(r, w) != nil {
			return
		}
	}
}

// skipLiterals reads the literals a command line announces, asking for
// each synchronizing one with "+ go", until a line ends without one.
func skipLiterals(line []byte, r *bufio.Reader, w *bufio.Writer) error {
	for {
		n, sync, ok := literalAt(line)
		if !ok {
			return nil
		}
		if sync {
			w.WriteString("+ go\r\n")
			if err := w.Flush(); err != nil {
				return err
			}
		}
		if _, err := r.Discard(n); err != nil {
			return err
		}
		var err error
		if line, err = readLine(r); err != nil {
			return err
		}
	}
}

// literalAt reports the literal announced at the end of line, "{n}" or
// "{n+}".
func literalAt(line []byte) (n int, sync, ok bool) {
	l := trimCRLF(line)
	if len(l) < 3 || l[len(l)-1] != '}' {
		return 0, false, false
	}
	i := bytes.LastIndexByte(l, '{')
	if i < 0 {
		return 0, false, false
	}
	num := l[i+1 : len(l)-1]
	sync = true
	if len(num) > 0 && num[len(num)-1] == '+' {
		num, sync = num[:len(num)-1], false
	}
	n, err := strconv.Atoi(string(num))
	if err != nil || n < 0 {
		return 0, false, false
	}
	return n, sync, true
}
