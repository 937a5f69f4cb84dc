package conformance

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"time"
)

// client plays the client script of one case (README §4.3) on one
// connection to the proxy.
type client struct {
	raw  *net.TCPConn // the TCP connection
	conn net.Conn     // raw, or the TLS layer after client-starttls
	vars *Vars
}

// run plays the steps in order and stops at the first failure.
func (cl *client) run(steps []Step) error {
	for _, st := range steps {
		if err := cl.step(st); err != nil {
			return err
		}
	}
	return nil
}

func (cl *client) step(st Step) error {
	switch st.Op {
	case "send":
		b, err := cl.vars.Subst(st.Data)
		if err != nil {
			return err
		}
		_ = cl.conn.SetWriteDeadline(time.Now().Add(readLimit))
		if _, err := cl.conn.Write(b); err != nil {
			return fmt.Errorf("client-send (line %d) failed: %v", st.Line, err)
		}
	case "expect":
		return cl.expect(st)
	case "silence":
		if r := silence(cl.conn, st.Seconds); r != "" {
			return fmt.Errorf("client-silence %v (line %d): %s", st.Seconds.Seconds(), st.Line, r)
		}
	case "closed":
		if r := waitClosed(cl.conn, st.Seconds); r != "" {
			return fmt.Errorf("client-closed %v (line %d): %s", st.Seconds.Seconds(), st.Line, r)
		}
	case "sleep":
		time.Sleep(st.Seconds)
	case "starttls":
		return cl.startTLS(st)
	case "shutdown":
		// Like run_nginx.py (which shuts down the socket under its TLS
		// object), only the TCP write side is shut down.
		if err := cl.raw.CloseWrite(); err != nil {
			return fmt.Errorf("client-shutdown (line %d): %v", st.Line, err)
		}
	default:
		return fmt.Errorf("unknown client step %q", st.Op)
	}
	return nil
}

// expect reads and compares one client-expect template.
func (cl *client) expect(st Step) error {
	if cl.vars.HasCapture(st.Data) {
		got, eof := readLines(cl.conn, bytes.Count(st.Data, []byte("\n")), readLimit)
		ok, err := cl.vars.Match(st.Data, got)
		if err != nil {
			return fmt.Errorf("client-expect (line %d): %v", st.Line, err)
		}
		if !ok {
			return fmt.Errorf("client-expect (line %d): want %q got %q%s", st.Line, st.Data, got, eofNote(eof))
		}
		return nil
	}
	want, err := cl.vars.Subst(st.Data)
	if err != nil {
		return fmt.Errorf("client-expect (line %d): %v", st.Line, err)
	}
	got, eof := readExact(cl.conn, len(want), readLimit)
	if !bytes.Equal(got, want) {
		return fmt.Errorf("client-expect (line %d): want %q got %q%s", st.Line, want, got, eofNote(eof))
	}
	return nil
}

// startTLS runs the TLS client handshake: no verification, no SNI, no
// ALPN, TLS 1.2 or later.
func (cl *client) startTLS(st Step) error {
	tc := tls.Client(cl.conn, &tls.Config{
		InsecureSkipVerify: true,
		MinVersion:         tls.VersionTLS12,
	})
	ctx, cancel := context.WithTimeout(context.Background(), readLimit)
	defer cancel()
	if err := tc.HandshakeContext(ctx); err != nil {
		return fmt.Errorf("client-starttls (line %d): %v", st.Line, err)
	}
	cl.conn = tc
	return nil
}

// eofNote marks a failed read that ended with EOF or a reset.
func eofNote(eof bool) string {
	if eof {
		return " (closed)"
	}
	return ""
}

// isTimeout reports whether err is a read deadline expiring.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, os.ErrDeadlineExceeded) || errors.As(err, &ne) && ne.Timeout()
}

// readExact reads until n bytes arrived, limit passed or the connection
// ended (EOF, reset or TLS error: eof is then true). It never reads more
// than n bytes.
func readExact(c net.Conn, n int, limit time.Duration) (got []byte, eof bool) {
	buf := make([]byte, n)
	have := 0
	_ = c.SetReadDeadline(time.Now().Add(limit))
	defer c.SetReadDeadline(time.Time{})
	for have < n {
		m, err := c.Read(buf[have:])
		have += m
		if err != nil {
			return buf[:have], !isTimeout(err)
		}
	}
	return buf[:have], false
}

// readLines reads one byte at a time until n LF bytes arrived, limit
// passed or the connection ended.
func readLines(c net.Conn, n int, limit time.Duration) (got []byte, eof bool) {
	var out []byte
	one := make([]byte, 1)
	lines := 0
	_ = c.SetReadDeadline(time.Now().Add(limit))
	defer c.SetReadDeadline(time.Time{})
	for lines < n {
		m, err := c.Read(one)
		if m == 1 {
			out = append(out, one[0])
			if one[0] == '\n' {
				lines++
			}
		}
		if err != nil {
			return out, !isTimeout(err)
		}
	}
	return out, false
}

// waitClosed waits up to limit for the peer to close (EOF or reset, or a
// TLS error) without sending a byte first. It returns "" when it did, or
// what happened instead.
func waitClosed(c net.Conn, limit time.Duration) string {
	buf := make([]byte, 4096)
	_ = c.SetReadDeadline(time.Now().Add(limit))
	defer c.SetReadDeadline(time.Time{})
	for {
		n, err := c.Read(buf)
		if n > 0 {
			return fmt.Sprintf("data %q", buf[:n])
		}
		if err != nil {
			if isTimeout(err) {
				return "still open"
			}
			return ""
		}
	}
}

// silence checks that nothing arrives for d and the connection stays
// open. It returns "" when so, or what happened instead ("data ...",
// "connection closed", "connection closed/reset").
func silence(c net.Conn, d time.Duration) string {
	buf := make([]byte, 4096)
	_ = c.SetReadDeadline(time.Now().Add(d))
	defer c.SetReadDeadline(time.Time{})
	for {
		n, err := c.Read(buf)
		if n > 0 {
			return fmt.Sprintf("data %q", buf[:n])
		}
		if err != nil {
			switch {
			case isTimeout(err):
				return ""
			case errors.Is(err, io.EOF):
				return "connection closed"
			default:
				return "connection closed/reset: " + err.Error()
			}
		}
	}
}
