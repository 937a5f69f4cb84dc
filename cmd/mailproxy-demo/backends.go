package main

import (
	"bytes"
	"log/slog"
	"net/mail"
	"strings"

	"mailproxy/internal/mailtest"
)

// backends are the demo's in-memory mail servers, one per protocol, all
// on free 127.0.0.1 ports.
type backends struct {
	imap  *mailtest.IMAPBackend
	pop3  *mailtest.POP3Backend
	smtp  *mailtest.SMTPBackend
	sieve *mailtest.SieveBackend
}

// startBackends starts the IMAP and POP3 backends with the demo users,
// each mailbox seeded with mailtest.DemoMessages, the ManageSieve backend
// with the same users, and the go-smtp backend, which logs every message
// it receives to log. On error the backends
// already started are closed.
func startBackends(log *slog.Logger) (_ *backends, err error) {
	users := make(map[string]string)
	for _, u := range demoUsers {
		users[u.name] = u.password
	}
	b := &backends{}
	defer func() {
		if err != nil {
			b.close()
		}
	}()
	if b.imap, err = mailtest.StartIMAPBackend("127.0.0.1:0", users, true); err != nil {
		return nil, err
	}
	if b.pop3, err = mailtest.StartPOP3Backend("127.0.0.1:0", users, true); err != nil {
		return nil, err
	}
	if b.smtp, err = mailtest.StartSMTPBackend("127.0.0.1:0"); err != nil {
		return nil, err
	}
	if b.sieve, err = mailtest.StartSieveBackend("127.0.0.1:0", users); err != nil {
		return nil, err
	}
	log = log.With("component", "smtp_backend")
	b.smtp.OnMessage(func(m mailtest.SMTPMessage) {
		log.Info("smtp backend received a message", "from", m.From, "to", strings.Join(m.To, ","),
			"subject", subject(m.Data), "bytes", len(m.Data), "helo", m.Helo, "peer", m.RemoteAddr)
	})
	return b, nil
}

// addrs returns the backend address of each protocol, "ip:port".
func (b *backends) addrs() map[string]string {
	return map[string]string{"imap": b.imap.Addr(), "pop3": b.pop3.Addr(), "smtp": b.smtp.Addr(), "sieve": b.sieve.Addr()}
}

// close stops every backend that was started.
func (b *backends) close() {
	if b.imap != nil {
		b.imap.Close()
	}
	if b.pop3 != nil {
		b.pop3.Close()
	}
	if b.smtp != nil {
		b.smtp.Close()
	}
	if b.sieve != nil {
		b.sieve.Close()
	}
}

// subject returns the Subject header of an RFC 5322 message, or "".
func subject(msg []byte) string {
	m, err := mail.ReadMessage(bytes.NewReader(msg))
	if err != nil {
		return ""
	}
	return m.Header.Get("Subject")
}
