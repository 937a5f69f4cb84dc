package mailtest

import (
	"net"
	"slices"
	"sync"
)

// XCLIENTBackend is a small hand-written SMTP server that understands what
// nginx sends to an SMTP backend: EHLO/HELO, XCLIENT (answered with a
// fresh 220 greeting, after which the client says EHLO/HELO again), AUTH
// PLAIN (any credentials, answered 235), MAIL, RCPT, DATA (dot-unstuffed),
// RSET, NOOP and QUIT. It records every command line byte for byte, so
// end-to-end tests can assert the exact XCLIENT line a proxy sends, and
// every accepted message. Its domain is SMTPDomain. Methods are safe for
// concurrent use.
//
// Like Postfix with its defaults, it does not insist on HELO/EHLO before
// AUTH or MAIL (nginx sends MAIL straight after XCLIENT when the client
// gave no HELO); tests check the order through Sessions. Command lines
// may end in CRLF or a bare LF and may be up to 16 KiB; a longer line gets
// 500 and the connection is closed. The DATA terminator is "." alone on a
// line; messages over 64 MiB get 552.
type XCLIENTBackend struct {
	srv *Server

	mu       sync.Mutex
	sessions []*xclientRecord
	msgs     []SMTPMessage
}

// XCLIENTSession is the record of one connection to an XCLIENTBackend.
type XCLIENTSession struct {
	RemoteAddr string // peer address, "ip:port"
	// Commands are the command lines received, in order, exactly as sent
	// (CRLF included). DATA content and AUTH continuation lines are not
	// commands and are not included.
	Commands []string
}

// xclientRecord is the mutable record behind an XCLIENTSession.
type xclientRecord struct {
	remote   string
	commands []string
}

// StartXCLIENTBackend listens on addr (e.g. "127.0.0.1:0" for a free port)
// and serves SMTP with XCLIENT there until Close.
func StartXCLIENTBackend(addr string) (*XCLIENTBackend, error) {
	b := &XCLIENTBackend{}
	srv, err := startLineServer(addr, b.serveConn)
	if err != nil {
		return nil, err
	}
	b.srv = srv
	return b, nil
}

// Addr returns the listening address, "host:port".
func (b *XCLIENTBackend) Addr() string { return b.srv.Addr() }

// Close stops the server, closes every client connection and waits until
// every session has ended. Calling it again does nothing. It always
// returns nil.
func (b *XCLIENTBackend) Close() error {
	b.srv.Close()
	return nil
}

// Messages returns copies of the messages received so far, in the order
// their DATA completed. Their XCLIENT field holds the session's last
// XCLIENT line before the message.
func (b *XCLIENTBackend) Messages() []SMTPMessage {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]SMTPMessage, len(b.msgs))
	for i, m := range b.msgs {
		out[i] = m.clone()
	}
	return out
}

// XCLIENTLines returns every XCLIENT command line received so far, from
// all sessions in the order they arrived, exactly as sent (CRLF included).
// It counts rejected ones too.
func (b *XCLIENTBackend) XCLIENTLines() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for _, s := range b.sessions {
		for _, c := range s.commands {
			if isXCLIENT(c) {
				out = append(out, c)
			}
		}
	}
	return out
}

// Sessions returns a snapshot of every connection accepted so far, in
// accept order, including ones still open.
func (b *XCLIENTBackend) Sessions() []XCLIENTSession {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]XCLIENTSession, len(b.sessions))
	for i, s := range b.sessions {
		out[i] = XCLIENTSession{RemoteAddr: s.remote, Commands: slices.Clone(s.commands)}
	}
	return out
}

// newRecord registers a new connection.
func (b *XCLIENTBackend) newRecord(remote string) *xclientRecord {
	r := &xclientRecord{remote: remote}
	b.mu.Lock()
	b.sessions = append(b.sessions, r)
	b.mu.Unlock()
	return r
}

// addCommand records one command line of r.
func (b *XCLIENTBackend) addCommand(r *xclientRecord, line string) {
	b.mu.Lock()
	r.commands = append(r.commands, line)
	b.mu.Unlock()
}

// addMessage records an accepted message and returns how many there are.
func (b *XCLIENTBackend) addMessage(m SMTPMessage) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.msgs = append(b.msgs, m)
	return len(b.msgs)
}

// serveConn runs one SMTP session on c.
func (b *XCLIENTBackend) serveConn(c net.Conn) {
	newXCLIENTSession(b, c).run()
}
