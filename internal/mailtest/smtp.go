package mailtest

import (
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"slices"
	"sync"

	"github.com/emersion/go-sasl"
	gosmtp "github.com/emersion/go-smtp"
)

// SMTPDomain is the name the SMTP backends give in their greeting and EHLO
// answer.
const SMTPDomain = "backend.test"

// maxSMTPMessage bounds the size of a message the SMTP backends accept.
const maxSMTPMessage = 64 << 20

// SMTPMessage is one message an SMTP backend accepted (a DATA that got a
// 250 answer).
type SMTPMessage struct {
	From       string   // MAIL FROM path without the angle brackets; "" for <>
	To         []string // RCPT TO paths without the angle brackets, in order
	Data       []byte   // the message, dot-unstuffed, line endings as sent
	Helo       string   // name of the session's last HELO or EHLO
	RemoteAddr string   // peer address of the connection, "ip:port"
	AuthUser   string   // user name of a successful AUTH PLAIN, else ""
	// XCLIENT is the session's last XCLIENT command line exactly as
	// received, CRLF included, or "" (XCLIENTBackend only).
	XCLIENT string
}

// clone returns a deep copy of m.
func (m SMTPMessage) clone() SMTPMessage {
	m.To = slices.Clone(m.To)
	m.Data = slices.Clone(m.Data)
	return m
}

// SMTPBackend is go-smtp's server on a TCP listener, accepting mail for
// any recipient from anyone, without authentication, and recording every
// message. It advertises AUTH PLAIN even without TLS (AllowInsecureAuth)
// and accepts any credentials, so a proxy with proxy_smtp_auth can log in
// too. It does not understand XCLIENT (use XCLIENTBackend for that).
// Methods are safe for concurrent use.
type SMTPBackend struct {
	ln   net.Listener
	srv  *gosmtp.Server
	done chan struct{} // closed when Serve has returned
	once sync.Once

	mu     sync.Mutex
	msgs   []SMTPMessage
	notify func(SMTPMessage)
	closed bool
}

// StartSMTPBackend listens on addr (e.g. "127.0.0.1:0" for a free port) and
// serves SMTP there until Close, with Domain SMTPDomain, messages up to 64
// MiB and a 10 minute idle timeout. Server errors are logged to stderr
// with the prefix "mailtest smtp: ".
func StartSMTPBackend(addr string) (*SMTPBackend, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("mailtest: %w", err)
	}
	b := &SMTPBackend{ln: ln, done: make(chan struct{})}
	b.srv = gosmtp.NewServer(gosmtp.BackendFunc(func(c *gosmtp.Conn) (gosmtp.Session, error) {
		return &smtpSession{b: b, c: c}, nil
	}))
	b.srv.Domain = SMTPDomain
	b.srv.AllowInsecureAuth = true // loopback test backend
	b.srv.MaxMessageBytes = maxSMTPMessage
	b.srv.ReadTimeout = idleTimeout
	b.srv.WriteTimeout = writeTimeout
	b.srv.ErrorLog = log.New(os.Stderr, "mailtest smtp: ", log.LstdFlags)
	go func() {
		defer close(b.done)
		b.srv.Serve(ln)
	}()
	return b, nil
}

// Addr returns the listening address, "host:port".
func (b *SMTPBackend) Addr() string { return b.ln.Addr().String() }

// Close stops the server, closes every client connection and waits for
// the accept loop to end. A message whose DATA is still being received is
// not recorded. Calling it again does nothing.
func (b *SMTPBackend) Close() error {
	var err error
	b.once.Do(func() {
		b.mu.Lock()
		b.closed = true
		b.mu.Unlock()
		err = b.srv.Close()
		b.ln.Close() // in case Serve had not registered it yet
		<-b.done
		if errors.Is(err, net.ErrClosed) {
			err = nil
		}
	})
	return err
}

// Messages returns copies of the messages received so far, in the order
// their DATA completed.
func (b *SMTPBackend) Messages() []SMTPMessage {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]SMTPMessage, len(b.msgs))
	for i, m := range b.msgs {
		out[i] = m.clone()
	}
	return out
}

// OnMessage makes f be called with a copy of every message received from
// now on, after it was recorded and before the client gets its 250. f runs
// on the session's goroutine and must not call OnMessage. nil removes it.
func (b *SMTPBackend) OnMessage(f func(SMTPMessage)) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.notify = f
}

// record stores m unless the backend is closing, and notifies.
func (b *SMTPBackend) record(m SMTPMessage) error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return &gosmtp.SMTPError{Code: 421, EnhancedCode: gosmtp.EnhancedCode{4, 3, 0}, Message: "Shutting down"}
	}
	b.msgs = append(b.msgs, m)
	notify := b.notify
	b.mu.Unlock()
	if notify != nil {
		notify(m.clone())
	}
	return nil
}

// smtpSession is one go-smtp session (from HELO/EHLO on).
type smtpSession struct {
	b        *SMTPBackend
	c        *gosmtp.Conn
	from     string
	to       []string
	authUser string
}

var _ gosmtp.AuthSession = (*smtpSession)(nil)

func (s *smtpSession) Reset() { s.from, s.to = "", nil }

func (s *smtpSession) Logout() error { return nil }

func (s *smtpSession) Mail(from string, _ *gosmtp.MailOptions) error {
	s.from = from
	return nil
}

func (s *smtpSession) Rcpt(to string, _ *gosmtp.RcptOptions) error {
	s.to = append(s.to, to)
	return nil
}

// Data records the message with the session's envelope.
func (s *smtpSession) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	return s.b.record(SMTPMessage{
		From:       s.from,
		To:         slices.Clone(s.to),
		Data:       data,
		Helo:       s.c.Hostname(),
		RemoteAddr: s.c.Conn().RemoteAddr().String(),
		AuthUser:   s.authUser,
	})
}

func (s *smtpSession) AuthMechanisms() []string { return []string{sasl.Plain} }

// Auth accepts PLAIN with any credentials and remembers the user name.
func (s *smtpSession) Auth(mech string) (sasl.Server, error) {
	if mech != sasl.Plain {
		return nil, gosmtp.ErrAuthUnknownMechanism
	}
	return sasl.NewPlainServer(func(_, username, _ string) error {
		s.authUser = username
		return nil
	}), nil
}
