package mailtest

import (
	"fmt"
	"net"
	"sort"
	"strconv"
	"sync"
)

// POP3Backend is a small in-memory RFC 1939 POP3 server on a TCP listener,
// the POP3 counterpart of IMAPBackend. It offers CAPA, USER/PASS (in
// plaintext: it is a loopback test backend), STAT, LIST, UIDL, RETR, TOP,
// DELE, RSET, NOOP and QUIT; it has no APOP, AUTH or STLS. Each user has
// one maildrop. Methods are safe for concurrent use.
//
// Sessions do not lock the maildrop: each session works on the messages
// the maildrop held when PASS succeeded (numbered from 1 in that order), and
// QUIT removes the messages it marked deleted from the shared maildrop,
// leaving other sessions' views alone. Messages added later appear in
// later sessions.
type POP3Backend struct {
	srv *Server

	mu    sync.Mutex
	boxes map[string]*maildrop
}

// maildrop is one user's mailbox.
type maildrop struct {
	password string
	msgs     []*pop3Message
	nextUID  int // unique-id of the next message
}

// pop3Message is one stored message. Its identity (the pointer) is what a
// session's DELE removes at QUIT.
type pop3Message struct {
	uid  string
	data []byte
}

// StartPOP3Backend listens on addr (e.g. "127.0.0.1:0" for a free port) and
// serves POP3 there until Close. users maps each user name to its
// password; every user gets a maildrop, filled with DemoMessages(name) when
// seed is true.
func StartPOP3Backend(addr string, users map[string]string, seed bool) (*POP3Backend, error) {
	b := &POP3Backend{boxes: make(map[string]*maildrop)}
	names := make([]string, 0, len(users))
	for name := range users {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if err := b.AddUser(name, users[name], seed); err != nil {
			return nil, err
		}
	}
	srv, err := startLineServer(addr, b.serveConn)
	if err != nil {
		return nil, err
	}
	b.srv = srv
	return b, nil
}

// Addr returns the listening address, "host:port".
func (b *POP3Backend) Addr() string { return b.srv.Addr() }

// Close stops the server, closes every client connection and waits until
// every session has ended. Calling it again does nothing. It always
// returns nil.
func (b *POP3Backend) Close() error {
	b.srv.Close()
	return nil
}

// AddUser adds a user with a maildrop, seeded with DemoMessages(name) when
// seed is true. Adding an existing name is an error.
func (b *POP3Backend) AddUser(name, password string, seed bool) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.boxes[name]; ok {
		return fmt.Errorf("mailtest: user %q exists", name)
	}
	box := &maildrop{password: password, nextUID: 1}
	if seed {
		for _, msg := range DemoMessages(name) {
			box.add(msg)
		}
	}
	b.boxes[name] = box
	return nil
}

// Append adds msg, of any size, to the end of user's maildrop and returns
// its unique-id as UIDL shows it. The unique-ids of a maildrop are 1, 2,
// 3, ... in the order messages were added, so in a fresh session without
// earlier deletions the message number equals the unique-id (seeded
// maildrops hold 1 to 3, so the first Append gives "4"). The message is
// stored byte for byte: RETR returns it dot-stuffed, so a client that
// removes the stuffing gets msg back (plus a CRLF if msg does not end in
// one). msg must not be modified afterwards.
func (b *POP3Backend) Append(user string, msg []byte) (string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	box := b.boxes[user]
	if box == nil {
		return "", fmt.Errorf("mailtest: no user %q", user)
	}
	return box.add(msg), nil
}

// Messages returns copies of the messages in user's maildrop, in order, or
// nil for an unknown user. Messages deleted by a session are gone once
// that session has sent QUIT.
func (b *POP3Backend) Messages(user string) [][]byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	box := b.boxes[user]
	if box == nil {
		return nil
	}
	out := make([][]byte, len(box.msgs))
	for i, m := range box.msgs {
		out[i] = append([]byte(nil), m.data...)
	}
	return out
}

// add appends msg and returns its unique-id. The caller holds b.mu.
func (box *maildrop) add(msg []byte) string {
	m := &pop3Message{uid: strconv.Itoa(box.nextUID), data: msg}
	box.nextUID++
	box.msgs = append(box.msgs, m)
	return m.uid
}

// login checks a user's password and returns a snapshot of the maildrop,
// or ok false.
func (b *POP3Backend) login(user, password string) (msgs []*pop3Message, ok bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	box := b.boxes[user]
	if box == nil || box.password != password {
		return nil, false
	}
	return append([]*pop3Message(nil), box.msgs...), true
}

// expunge removes the given messages from user's maildrop and returns how
// many messages are left.
func (b *POP3Backend) expunge(user string, gone map[*pop3Message]bool) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	box := b.boxes[user]
	kept := box.msgs[:0:0]
	for _, m := range box.msgs {
		if !gone[m] {
			kept = append(kept, m)
		}
	}
	box.msgs = kept
	return len(kept)
}

// serveConn runs one POP3 session on c.
func (b *POP3Backend) serveConn(c net.Conn) {
	newPOP3Session(b, c).run()
}
