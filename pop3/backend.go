package pop3

import (
	"bytes"
	"net"
	"time"

	"mailproxy/internal/backend"
	"mailproxy/internal/session"
)

// backendLogin is the POP3 hand-over: it needs nothing from the
// pre-login dialogue.
type backendLogin struct{}

// Handover returns the POP3 backend login.
func Handover() session.Handover { return backendLogin{} }

// LoginBackend runs nginx's POP3 login on conn (SPEC §11.3): it consumes
// the greeting, with l.StartTLS sends "STLS" (the reply must be one +OK
// line) and upgrades, then sends "USER <user>" and "PASS <password>" (raw bytes,
// spaces kept, nothing escaped) and returns the backend's reply to PASS,
// everything buffered, to relay to the client. Every reply must start with
// "+OK"; replies are read with nginx's rules (internal/backend). bufSize
// is proxy_buffer; the whole dialogue must end by deadline. Failures are
// *session.BackendError: with Reply set (the whole buffered reply) and
// Text the reply without its final CRLF when the backend answered
// something else than +OK; with Reply nil for transport errors, the
// deadline and overlong replies. The caller owns conn.
func (backendLogin) LoginBackend(conn net.Conn, l *session.Login, bufSize int, deadline time.Time) ([]byte, error) {
	conn.SetDeadline(deadline)
	defer conn.SetDeadline(time.Time{})
	r := backend.NewReader(conn, bufSize)
	defer r.Release() // every reply kept is a copy
	expectOK := func() ([]byte, error) {
		reply, err := r.Next()
		if err != nil {
			return nil, &session.BackendError{Text: "upstream login failed", Err: err}
		}
		if !bytes.HasPrefix(reply, []byte("+OK")) {
			return nil, &session.BackendError{
				Text:  string(bytes.TrimSuffix(reply, []byte("\r\n"))),
				Reply: append([]byte(nil), reply...),
			}
		}
		return reply, nil
	}
	send := func(line string) error {
		if _, err := conn.Write([]byte(line)); err != nil {
			return &session.BackendError{Text: "upstream login failed", Err: err}
		}
		return nil
	}
	if !backend.SafeArgument(l.User) || !backend.SafeArgument(l.Pass) {
		return nil, &session.BackendError{Text: "upstream login refused", Err: backend.ErrUnsafeArgument}
	}
	if _, err := expectOK(); err != nil { // greeting
		err.(*session.BackendError).Greeting = true
		return nil, err
	}
	if l.StartTLS != nil {
		if err := send("STLS\r\n"); err != nil {
			return nil, err
		}
		reply, err := r.Next()
		if err != nil {
			return nil, &session.BackendError{Text: "upstream login failed", Err: err}
		}
		if !bytes.HasPrefix(reply, []byte("+OK")) {
			return nil, backend.NoStartTLS(reply)
		}
		if conn, err = backend.UpgradeTLS(r, conn, reply, l.StartTLS); err != nil {
			return nil, err
		}
	}
	if err := send("USER " + l.User + "\r\n"); err != nil {
		return nil, err
	}
	if _, err := expectOK(); err != nil {
		return nil, err
	}
	if err := send("PASS " + l.Pass + "\r\n"); err != nil {
		return nil, err
	}
	reply, err := expectOK()
	if err != nil {
		return nil, err
	}
	return append([]byte(nil), reply...), nil
}
