package smtp

import (
	"bytes"
	"errors"
	"net"
	"strings"

	"mailproxy/internal/backend"
	"mailproxy/internal/session"
)

// errUnsafe is a value that would break a backend command line.
var errUnsafe = errors.New("CR, LF or NUL in a value for the backend")

// replyCheck judges the first line of a backend reply.
type replyCheck func(reply []byte) bool

func code220(r []byte) bool { return r[0] == '2' && r[1] == '2' && r[2] == '0' }
func code250(r []byte) bool { return r[0] == '2' && r[1] == '5' && r[2] == '0' }
func code235(r []byte) bool { return r[0] == '2' && r[1] == '3' && r[2] == '5' }
func code2x0(r []byte) bool { return r[0] == '2' && (r[1] == '2' || r[1] == '5') && r[2] == '0' }
func code334(r []byte) bool { return r[0] == '3' && r[1] == '3' && r[2] == '4' }
func anyCode([]byte) bool   { return true }

// dialogue is one backend login dialogue: commands written with a single
// write each, replies read into one proxy_buffer.
type dialogue struct {
	conn  net.Conn
	r     *backend.Reader
	reply []byte // the last reply, valid until the next read
}

// step sends line+CRLF and judges the reply. A line holding CR, LF or NUL
// is never sent.
func (d *dialogue) step(line string, ok replyCheck) error {
	if strings.ContainsAny(line, "\r\n\x00") {
		return &session.BackendError{Text: "upstream login failed", Err: errUnsafe}
	}
	if _, err := d.conn.Write([]byte(line + "\r\n")); err != nil {
		return &session.BackendError{Text: "upstream login failed", Err: err}
	}
	return d.expect(ok)
}

// expect reads one complete reply (the buffer is emptied first, as nginx
// does after each accepted reply) and judges it.
func (d *dialogue) expect(ok replyCheck) error {
	reply, err := readReply(d.r)
	if err != nil {
		return &session.BackendError{Text: "upstream login failed", Err: err}
	}
	d.reply = reply
	if !ok(reply) {
		return &session.BackendError{
			Text:  string(bytes.TrimSuffix(reply, []byte("\r\n"))),
			Reply: append([]byte(nil), reply...),
		}
	}
	return nil
}

// readReply reads one reply. backend.Reader completes it at a CRLF; a
// multi-line reply (4th byte of its first line is '-') is complete only
// once its last line is: nginx looks for the CRLF before the last line,
// from 7 bytes before the end backwards, and waits while no such CRLF is
// found or the last line's 4th byte is '-'.
func readReply(r *backend.Reader) ([]byte, error) {
	b, err := r.Next()
	for err == nil && !lastLine(b) {
		b, err = r.More()
	}
	return b, err
}

// lastLine reports whether b (at least 4 bytes, ending in CRLF) holds a
// complete SMTP reply by nginx's rule.
func lastLine(b []byte) bool {
	if b[3] != '-' {
		return true
	}
	m := len(b) - len("\r\n200\r\n")
	for m > 0 && !(b[m] == '\r' && b[m+1] == '\n') {
		m--
	}
	return m > 0 && b[m+5] != '-'
}
