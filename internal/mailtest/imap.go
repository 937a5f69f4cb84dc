package mailtest

import (
	"bytes"
	"fmt"
	"log"
	"net"
	"os"
	"sort"
	"sync"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
)

// IMAPBackend is an in-memory IMAP server on a TCP listener. It accepts
// plaintext LOGIN and AUTHENTICATE PLAIN (InsecureAuth) and advertises
// IMAP4rev1. Methods are safe for concurrent use.
type IMAPBackend struct {
	ln    net.Listener
	srv   *imapserver.Server
	mem   *imapmemserver.Server
	done  chan struct{} // closed when Serve has returned
	close sync.Once

	mu    sync.Mutex
	users map[string]*imapmemserver.User
}

// StartIMAPBackend listens on addr (e.g. "127.0.0.1:0" for a free port) and
// serves IMAP there until Close. users maps each user name to its
// password; every user gets an empty INBOX, filled with DemoMessages(name)
// when seed is true. Server errors are logged to stderr with the prefix
// "mailtest imap: ".
func StartIMAPBackend(addr string, users map[string]string, seed bool) (*IMAPBackend, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("mailtest: %w", err)
	}
	b := &IMAPBackend{
		ln:    ln,
		mem:   imapmemserver.New(),
		done:  make(chan struct{}),
		users: make(map[string]*imapmemserver.User),
	}
	names := make([]string, 0, len(users))
	for name := range users {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if err := b.AddUser(name, users[name], seed); err != nil {
			ln.Close()
			return nil, err
		}
	}
	b.srv = imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return b.mem.NewSession(), nil, nil
		},
		Caps:         imap.CapSet{imap.CapIMAP4rev1: {}},
		InsecureAuth: true, // loopback test backend: plaintext LOGIN
		Logger:       log.New(os.Stderr, "mailtest imap: ", log.LstdFlags),
	})
	go func() {
		defer close(b.done)
		b.srv.Serve(ln)
	}()
	return b, nil
}

// Addr returns the listening address, "host:port".
func (b *IMAPBackend) Addr() string { return b.ln.Addr().String() }

// Close stops the server, closes every client connection and waits for the
// accept loop to end. Calling it again does nothing.
func (b *IMAPBackend) Close() error {
	var err error
	b.close.Do(func() {
		err = b.srv.Close()
		b.ln.Close() // in case Serve had not registered it yet
		<-b.done
	})
	return err
}

// AddUser adds a user with an INBOX, seeded with DemoMessages(name) when
// seed is true. Adding an existing name is an error.
func (b *IMAPBackend) AddUser(name, password string, seed bool) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.users[name]; ok {
		return fmt.Errorf("mailtest: user %q exists", name)
	}
	u := imapmemserver.NewUser(name, password)
	if err := u.Create("INBOX", nil); err != nil {
		return fmt.Errorf("mailtest: create INBOX of %q: %w", name, err)
	}
	if seed {
		for _, msg := range DemoMessages(name) {
			if _, err := u.Append("INBOX", bytes.NewReader(msg), &imap.AppendOptions{}); err != nil {
				return fmt.Errorf("mailtest: seed INBOX of %q: %w", name, err)
			}
		}
	}
	b.users[name] = u
	b.mem.AddUser(u)
	return nil
}

// Append adds msg, of any size, to the INBOX of user and returns its UID.
// The message is stored byte for byte, so a FETCH BODY[] returns msg.
func (b *IMAPBackend) Append(user string, msg []byte) (imap.UID, error) {
	b.mu.Lock()
	u := b.users[user]
	b.mu.Unlock()
	if u == nil {
		return 0, fmt.Errorf("mailtest: no user %q", user)
	}
	data, err := u.Append("INBOX", bytes.NewReader(msg), &imap.AppendOptions{})
	if err != nil {
		return 0, fmt.Errorf("mailtest: append to INBOX of %q: %w", user, err)
	}
	return data.UID, nil
}
