package imap

import (
	"bytes"
	"net"
	"strconv"
	"time"

	"mailproxy/internal/backend"
	"mailproxy/internal/sasl"
	"mailproxy/internal/session"
)

// backendLogin is the hand-over of a login made by the command tagged
// tag. It stays comparable: what goes beyond nginx's login is behind a
// pointer.
type backendLogin struct {
	tag  string
	more *loginExtras
}

// loginExtras are the backend login's steps beyond nginx.
type loginExtras struct {
	// id is the ID parameter list sent before the login
	// (proxy_forward imap_id); "" for none.
	id string
	// method is the auth service's Auth-Backend-Method: the login is
	// AUTHENTICATE with that mechanism instead of LOGIN; "" for LOGIN.
	method string
}

// Handover returns the backend login for a client login tagged tag.
func Handover(tag string) session.Handover { return backendLogin{tag: tag} }

// idTag tags the ID command mailproxy sends before the login.
const idTag = "mailproxy-id"

// LoginBackend runs nginx's IMAP login on conn (SPEC §11.2): it consumes
// the greeting, with l.StartTLS sends "<tag> STARTTLS" (the reply must be
// "<tag> OK" and nothing more) and upgrades, then sends "<tag> LOGIN {n}", the user and the password as
// synchronizing literals under the client's own tag, and returns the
// backend's final reply (one optional untagged line and the tagged OK,
// everything buffered) to relay to the client. With proxy_forward
// imap_id an ID command goes first (its reply is consumed whatever it
// is); with Auth-Backend-Method the login is AUTHENTICATE with that
// mechanism, the user and password (the token) in its message. bufSize
// is proxy_buffer; the whole dialogue must end by deadline. Failures are
// *session.BackendError. The caller owns conn.
func (b backendLogin) LoginBackend(conn net.Conn, l *session.Login, bufSize int, deadline time.Time) ([]byte, error) {
	conn.SetDeadline(deadline)
	defer conn.SetDeadline(time.Time{})
	r := backend.NewReader(conn, bufSize)
	defer r.Release() // every reply kept is a copy
	reply, err := r.Next()
	if err != nil {
		return failed(nil, err)
	}
	if !bytes.HasPrefix(reply, []byte("* OK")) {
		err := loginError(reply, nil)
		err.(*session.BackendError).Greeting = true
		return nil, err
	}
	if l.StartTLS != nil {
		if _, err := conn.Write([]byte(b.tag + " STARTTLS\r\n")); err != nil {
			return failed(nil, err)
		}
		if reply, err = r.Next(); err != nil {
			return failed(nil, err)
		}
		if !bytes.HasPrefix(reply, []byte(b.tag+" OK")) {
			return nil, backend.NoStartTLS(reply)
		}
		if conn, err = backend.UpgradeTLS(r, conn, reply, l.StartTLS); err != nil {
			return nil, err
		}
	}
	var more loginExtras
	if b.more != nil {
		more = *b.more
	}
	if more.id != "" {
		if err := sendID(conn, r, more.id); err != nil {
			return failed(nil, err)
		}
	}
	if more.method != "" {
		reply, err = b.authenticate(conn, r, l, more.method)
	} else {
		reply, err = b.login(conn, r, l)
	}
	if err != nil {
		return nil, err
	}
	return b.final(r, reply)
}

// failed is LoginBackend's result for a login that failed (loginError).
func failed(reply []byte, err error) ([]byte, error) { return nil, loginError(reply, err) }

// loginError is the error of a login that failed: on a backend reply
// (kept for proxy_pass_error_message) or on err.
func loginError(reply []byte, err error) error {
	if err != nil {
		return &session.BackendError{Text: "upstream login failed", Err: err}
	}
	text := bytes.TrimSuffix(reply, []byte("\r\n"))
	return &session.BackendError{Text: string(text), Reply: append([]byte(nil), reply...)}
}

// login is nginx's LOGIN with two synchronizing literals; it returns the
// reply to the password.
func (b backendLogin) login(conn net.Conn, r *backend.Reader, l *session.Login) ([]byte, error) {
	steps := [][]byte{
		[]byte(b.tag + " LOGIN {" + strconv.Itoa(len(l.User)) + "}\r\n"),
		[]byte(l.User + " {" + strconv.Itoa(len(l.Pass)) + "}\r\n"),
	}
	for _, cmd := range steps {
		if err := continued(conn, r, cmd); err != nil {
			return nil, err
		}
	}
	if _, err := conn.Write([]byte(l.Pass + "\r\n")); err != nil {
		return failed(nil, err)
	}
	reply, err := r.Next()
	if err != nil {
		return failed(nil, err)
	}
	return reply, nil
}

// authenticate logs in with the OAuth mechanism method (XOAUTH2 or
// OAUTHBEARER): the command, then the message after the backend's "+";
// a "+" after the message is the backend's error challenge, answered with
// the mechanism's acknowledgement before its tagged reply. It returns the
// final reply.
func (b backendLogin) authenticate(conn net.Conn, r *backend.Reader, l *session.Login, method string) ([]byte, error) {
	mech, msg, ack := sasl.ClientMessage(method, l.User, l.Pass)
	if err := continued(conn, r, []byte(b.tag+" AUTHENTICATE "+mech+"\r\n")); err != nil {
		return nil, err
	}
	if _, err := conn.Write([]byte(msg + "\r\n")); err != nil {
		return failed(nil, err)
	}
	reply, err := r.Next()
	if err != nil {
		return failed(nil, err)
	}
	if reply[0] == '+' {
		if _, err := conn.Write([]byte(ack + "\r\n")); err != nil {
			return failed(nil, err)
		}
		if reply, err = r.Next(); err != nil {
			return failed(nil, err)
		}
	}
	return reply, nil
}

// continued sends cmd and expects a continuation ("+") in reply.
func continued(conn net.Conn, r *backend.Reader, cmd []byte) error {
	if _, err := conn.Write(cmd); err != nil {
		return loginError(nil, err)
	}
	reply, err := r.Next()
	if err != nil {
		return loginError(nil, err)
	}
	if reply[0] != '+' {
		return loginError(reply, nil)
	}
	return nil
}

// final judges the reply to the login: one untagged line before the
// tagged one is tolerated (nginx since 1.27.3) and relayed with it; the
// tagged line must be OK.
func (b backendLogin) final(r *backend.Reader, reply []byte) ([]byte, error) {
	tagged := reply
	if bytes.HasPrefix(reply, []byte("* ")) {
		for {
			i := bytes.IndexByte(reply, '\n')
			if i+1 < len(reply) {
				tagged = reply[i+1:]
				break
			}
			var err error
			if reply, err = r.More(); err != nil {
				return failed(nil, err)
			}
		}
	}
	prefix := b.tag + " OK"
	if !bytes.HasPrefix(tagged, []byte(prefix)) {
		if bytes.HasPrefix(tagged, []byte(b.tag+" ")) {
			// nginx logs the text after the matched tag.
			e := &session.BackendError{
				Text:  string(bytes.TrimSuffix(tagged[len(b.tag)+1:], []byte("\r\n"))),
				Reply: append([]byte(nil), reply...),
			}
			return nil, e
		}
		return failed(reply, nil)
	}
	return append([]byte(nil), reply...), nil
}

// sendID sends "mailproxy-id ID list" and consumes the backend's reply up
// to its tagged line, whatever its status: a backend without ID still
// gets the login.
func sendID(conn net.Conn, r *backend.Reader, list string) error {
	if _, err := conn.Write([]byte(idTag + " ID " + list + "\r\n")); err != nil {
		return err
	}
	reply, err := r.Next()
	for err == nil {
		last := reply[:len(reply)-2]
		if i := bytes.LastIndexByte(last, '\n'); i >= 0 {
			last = last[i+1:]
		}
		if bytes.HasPrefix(last, []byte(idTag+" ")) {
			return nil
		}
		reply, err = r.More()
	}
	return err
}
