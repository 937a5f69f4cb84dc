package pop3

import (
	"bytes"
	"net"
	"strconv"
	"time"

	"mailproxy/internal/backend"
	"mailproxy/internal/sasl"
	"mailproxy/internal/session"
)

// backendLogin is the POP3 hand-over. nginx's login needs nothing from the
// pre-login dialogue; what goes beyond it is behind a pointer, so that
// the value stays comparable.
type backendLogin struct{ more *loginExtras }

// loginExtras are the backend login's steps beyond nginx.
type loginExtras struct {
	// xclient is the XCLIENT command sent before the login
	// (proxy_forward xclient); "" for none.
	xclient string
	// method is the auth service's Auth-Backend-Method: the login is
	// AUTH with that mechanism instead of USER/PASS; "" for USER/PASS.
	method string
}

// Handover returns the POP3 backend login.
func Handover() session.Handover { return backendLogin{} }

// LoginBackend runs nginx's POP3 login on conn (SPEC §11.3): it consumes
// the greeting, with l.StartTLS sends "STLS" (the reply must be one +OK
// line) and upgrades, then sends "USER <user>" and "PASS <password>" (raw bytes,
// spaces kept, nothing escaped) and returns the backend's reply to PASS,
// everything buffered, to relay to the client. Every reply must start with
// "+OK"; replies are read with nginx's rules (internal/backend). With
// proxy_forward xclient, XCLIENT goes first (its reply is read whatever
// it is); with Auth-Backend-Method the login is AUTH with that mechanism,
// the user and password (the token) in its message. bufSize is
// proxy_buffer; the whole dialogue must end by deadline. Failures are
// *session.BackendError: with Reply set (the whole buffered reply) and
// Text the reply without its final CRLF when the backend answered
// something else than +OK; with Reply nil for transport errors, the
// deadline and overlong replies. The caller owns conn.
func (b backendLogin) LoginBackend(conn net.Conn, l *session.Login, bufSize int, deadline time.Time) ([]byte, error) {
	conn.SetDeadline(deadline)
	defer conn.SetDeadline(time.Time{})
	var more loginExtras
	if b.more != nil {
		more = *b.more
	}
	r := backend.NewReader(conn, bufSize)
	defer r.Release() // every reply kept is a copy
	expect := func(ok string) ([]byte, error) {
		reply, err := r.Next()
		if err != nil {
			return nil, &session.BackendError{Text: "upstream login failed", Err: err}
		}
		if !bytes.HasPrefix(reply, []byte(ok)) {
			return nil, &session.BackendError{
				Text:  string(bytes.TrimSuffix(reply, []byte("\r\n"))),
				Reply: append([]byte(nil), reply...),
			}
		}
		return reply, nil
	}
	expectOK := func() ([]byte, error) { return expect("+OK") }
	send := func(line string) error {
		if _, err := conn.Write([]byte(line)); err != nil {
			return &session.BackendError{Text: "upstream login failed", Err: err}
		}
		return nil
	}
	if more.method == "" && (!backend.SafeArgument(l.User) || !backend.SafeArgument(l.Pass)) {
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
	if more.xclient != "" {
		if err := send(more.xclient + "\r\n"); err != nil {
			return nil, err
		}
		if _, err := r.Next(); err != nil { // +OK, or -ERR from a backend without XCLIENT
			return nil, &session.BackendError{Text: "upstream login failed", Err: err}
		}
	}
	if more.method != "" {
		mech, msg, ack := sasl.ClientMessage(more.method, l.User, l.Pass)
		if err := send("AUTH " + mech + "\r\n"); err != nil {
			return nil, err
		}
		if _, err := expect("+ "); err != nil {
			return nil, err
		}
		if err := send(msg + "\r\n"); err != nil {
			return nil, err
		}
		reply, err := expect("+")
		if err != nil {
			return nil, err
		}
		if !bytes.HasPrefix(reply, []byte("+OK")) {
			// The backend's error challenge: acknowledge it, then -ERR.
			if err := send(ack + "\r\n"); err != nil {
				return nil, err
			}
			if reply, err = expectOK(); err != nil {
				return nil, err
			}
		}
		return append([]byte(nil), reply...), nil
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

// xclientLine is the XCLIENT command of proxy_forward xclient, as
// Dovecot's pop3-login takes it from a login_trusted_networks address:
// the client's address and port (after a trusted PROXY header, the real
// ones) and the session ID.
func xclientLine(c *session.Conn) string {
	line := "XCLIENT ADDR=" + c.Client.Addr().WithZone("").String() + " PORT=" + strconv.Itoa(int(c.Client.Port()))
	if c.SessionID != "" {
		line += " SESSION=" + c.SessionID
	}
	return line
}
