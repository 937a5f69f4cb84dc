package mailtest

import (
	"bufio"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// rawClient is a line-based test client for the hand-written backends.
type rawClient struct {
	t *testing.T
	c net.Conn
	r *bufio.Reader
}

// dialRaw connects to addr; the connection is closed when the test ends.
func dialRaw(t *testing.T, addr string) *rawClient {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(30 * time.Second))
	return &rawClient{t: t, c: c, r: bufio.NewReader(c)}
}

// send writes s as is.
func (rc *rawClient) send(s string) {
	rc.t.Helper()
	if _, err := io.WriteString(rc.c, s); err != nil {
		rc.t.Fatal(err)
	}
}

// line reads one line and returns it without CRLF.
func (rc *rawClient) line() string {
	rc.t.Helper()
	l, err := rc.r.ReadString('\n')
	if err != nil {
		rc.t.Fatalf("read: %v (got %q)", err, l)
	}
	return strings.TrimSuffix(strings.TrimSuffix(l, "\n"), "\r")
}

// expect reads one line and fails unless it starts with prefix.
func (rc *rawClient) expect(prefix string) string {
	rc.t.Helper()
	l := rc.line()
	if !strings.HasPrefix(l, prefix) {
		rc.t.Fatalf("got %q, want a line starting with %q", l, prefix)
	}
	return l
}

// cmd sends line plus CRLF and expects an answer starting with prefix.
func (rc *rawClient) cmd(line, prefix string) string {
	rc.t.Helper()
	rc.send(line + "\r\n")
	return rc.expect(prefix)
}

// smtpReply reads a possibly multi-line SMTP reply and returns its lines.
func (rc *rawClient) smtpReply() []string {
	rc.t.Helper()
	var lines []string
	for {
		l := rc.line()
		lines = append(lines, l)
		if len(l) < 4 || l[3] != '-' {
			return lines
		}
	}
}

// multiline reads a POP3 multi-line body up to "." and returns it with
// CRLF line ends, undoing the dot-stuffing.
func (rc *rawClient) multiline() []byte {
	rc.t.Helper()
	var out []byte
	for {
		l, err := rc.r.ReadBytes('\n')
		if err != nil {
			rc.t.Fatalf("read: %v", err)
		}
		if string(l) == ".\r\n" {
			return out
		}
		if l[0] == '.' {
			l = l[1:]
		}
		out = append(out, l...)
	}
}

// expectEOF fails unless the server closes the connection.
func (rc *rawClient) expectEOF() {
	rc.t.Helper()
	if l, err := rc.r.ReadString('\n'); err != io.EOF {
		rc.t.Fatalf("got %q, %v; want EOF", l, err)
	}
}
