// Package backend holds what the three protocols' backend login dialogues
// share: nginx's way of reading a backend reply (SPEC.md §11.1).
package backend

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"

	"mailproxy/internal/session"
)

// ErrTooLong is a reply that does not fit proxy_buffer.
var ErrTooLong = errors.New("upstream sent too long response line")

// Reader accumulates backend replies in a proxy_buffer-sized buffer the way
// nginx does: a reply is complete only when at least 4 bytes are buffered
// and the buffered data ends with CRLF (a backend ending lines with a bare
// LF stalls until the timeout, as with nginx).
type Reader struct {
	conn net.Conn
	buf  []byte
	n    int
}

// NewReader reads from conn with a buffer of size bytes, taken from a
// pool: call Release when done.
func NewReader(conn net.Conn, size int) *Reader {
	if size <= 0 {
		size = 4096
	}
	return &Reader{conn: conn, buf: poolOf(size).Get()}
}

// Release returns the buffer to its pool. Neither r nor any reply it
// returned may be used afterwards: callers copy what they keep.
func (r *Reader) Release() {
	if r.buf != nil {
		poolOf(len(r.buf)).Put(r.buf)
		r.buf, r.n = nil, 0
	}
}

// pools holds one buffer pool per proxy_buffer size in use.
var pools sync.Map // int → *session.BufPool

func poolOf(size int) *session.BufPool {
	if p, ok := pools.Load(size); ok {
		return p.(*session.BufPool)
	}
	p, _ := pools.LoadOrStore(size, session.NewBufPool(size))
	return p.(*session.BufPool)
}

// Next empties the buffer and reads one complete reply. The slice is valid
// until the next call.
func (r *Reader) Next() ([]byte, error) {
	r.n = 0
	return r.complete()
}

// More keeps what is buffered, reads at least once more and returns the
// whole buffer once it is complete again (an IMAP untagged line waiting
// for its tagged line).
func (r *Reader) More() ([]byte, error) {
	if err := r.readOnce(); err != nil {
		return nil, err
	}
	return r.complete()
}

func (r *Reader) complete() ([]byte, error) {
	for r.n < 4 || !bytes.HasSuffix(r.buf[:r.n], []byte("\r\n")) {
		if err := r.readOnce(); err != nil {
			return nil, err
		}
	}
	return r.buf[:r.n], nil
}

func (r *Reader) readOnce() error {
	if r.n == len(r.buf) {
		return fmt.Errorf("%w: %q", ErrTooLong, r.buf[:min(r.n, 128)])
	}
	m, err := r.conn.Read(r.buf[r.n:])
	r.n += m
	if m == 0 {
		if err == nil {
			err = errors.New("empty read")
		}
		return err
	}
	return nil
}

// ErrUnsafeArgument refuses a user name or password that would break out
// of a backend command line.
var ErrUnsafeArgument = errors.New("credentials contain CR, LF or NUL")

// SafeArgument reports whether s can be sent inside a backend command
// line: no CR, LF or NUL, so a client's credentials can never inject a
// command (nginx sends them as they are).
func SafeArgument(s string) bool {
	return !strings.ContainsAny(s, "\r\n\x00")
}

// Switch makes r read from conn from now on (after a TLS upgrade). It
// fails when bytes read from the old connection are still buffered
// beyond the last reply: what a backend, or a man in the middle, sent
// after its answer to STARTTLS must not be taken as sent over TLS.
func (r *Reader) Switch(conn net.Conn, reply []byte) error {
	if len(reply) != r.n {
		return errors.New("upstream sent data after its STARTTLS reply")
	}
	if bytes.Count(reply, []byte("\n")) != 1 {
		return errors.New("upstream sent more than one line as its STARTTLS reply")
	}
	r.conn, r.n = conn, 0
	return nil
}

// UpgradeTLS runs the upgrade hook on conn once the backend agreed to
// STARTTLS with reply (r's last reply), and switches r to the TLS
// connection. Every failure is a *session.BackendError: ErrNoStartTLS
// for bytes after the reply, the hook's error otherwise.
func UpgradeTLS(r *Reader, conn net.Conn, reply []byte, upgrade func(net.Conn) (net.Conn, error)) (net.Conn, error) {
	if err := r.Switch(conn, reply); err != nil {
		return nil, &session.BackendError{Text: "upstream STARTTLS failed", Err: fmt.Errorf("%w: %v", session.ErrNoStartTLS, err)}
	}
	tc, err := upgrade(conn)
	if err != nil {
		return nil, &session.BackendError{Text: "upstream TLS handshake failed", Err: err}
	}
	r.conn = tc
	return tc, nil
}

// NoStartTLS is the failure of a backend that does not offer or refuses
// STARTTLS; reply is its answer, for the log only.
func NoStartTLS(reply []byte) error {
	return &session.BackendError{
		Text: "upstream STARTTLS refused",
		Err:  fmt.Errorf("%w: %q", session.ErrNoStartTLS, bytes.TrimSuffix(reply[:min(len(reply), 200)], []byte("\r\n"))),
	}
}
