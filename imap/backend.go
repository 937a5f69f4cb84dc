package imap

import (
	"bytes"
	"net"
	"strconv"
	"time"

	"mailproxy/internal/backend"
	"mailproxy/internal/session"
)

// backendLogin is the hand-over of a login made by the command tagged
// tag.
type backendLogin struct{ tag string }

// Handover returns the backend login for a client login tagged tag.
func Handover(tag string) session.Handover { return backendLogin{tag: tag} }

// LoginBackend runs nginx's IMAP login on conn (SPEC §11.2): it consumes
// the greeting, with l.StartTLS sends "<tag> STARTTLS" (the reply must be
// "<tag> OK" and nothing more) and upgrades, then sends "<tag> LOGIN {n}", the user and the password as
// synchronizing literals under the client's own tag, and returns the
// backend's final reply (one optional untagged line and the tagged OK,
// everything buffered) to relay to the client. bufSize is proxy_buffer;
// the whole dialogue must end by deadline. Failures are
// *session.BackendError. The caller owns conn.
func (b backendLogin) LoginBackend(conn net.Conn, l *session.Login, bufSize int, deadline time.Time) ([]byte, error) {
	conn.SetDeadline(deadline)
	defer conn.SetDeadline(time.Time{})
	r := backend.NewReader(conn, bufSize)
	defer r.Release() // every reply kept is a copy
	fail := func(reply []byte, err error) ([]byte, error) {
		if err != nil {
			return nil, &session.BackendError{Text: "upstream login failed", Err: err}
		}
		text := bytes.TrimSuffix(reply, []byte("\r\n"))
		return nil, &session.BackendError{Text: string(text), Reply: append([]byte(nil), reply...)}
	}
	reply, err := r.Next()
	if err != nil {
		return fail(nil, err)
	}
	if !bytes.HasPrefix(reply, []byte("* OK")) {
		_, err := fail(reply, nil)
		err.(*session.BackendError).Greeting = true
		return nil, err
	}
	if l.StartTLS != nil {
		if _, err := conn.Write([]byte(b.tag + " STARTTLS\r\n")); err != nil {
			return fail(nil, err)
		}
		if reply, err = r.Next(); err != nil {
			return fail(nil, err)
		}
		if !bytes.HasPrefix(reply, []byte(b.tag+" OK")) {
			return nil, backend.NoStartTLS(reply)
		}
		if conn, err = backend.UpgradeTLS(r, conn, reply, l.StartTLS); err != nil {
			return nil, err
		}
	}
	steps := [][]byte{
		[]byte(b.tag + " LOGIN {" + strconv.Itoa(len(l.User)) + "}\r\n"),
		[]byte(l.User + " {" + strconv.Itoa(len(l.Pass)) + "}\r\n"),
	}
	for _, cmd := range steps {
		if _, err := conn.Write(cmd); err != nil {
			return fail(nil, err)
		}
		if reply, err = r.Next(); err != nil {
			return fail(nil, err)
		}
		if reply[0] != '+' {
			return fail(reply, nil)
		}
	}
	if _, err := conn.Write([]byte(l.Pass + "\r\n")); err != nil {
		return fail(nil, err)
	}
	if reply, err = r.Next(); err != nil {
		return fail(nil, err)
	}
	tagged := reply
	if bytes.HasPrefix(reply, []byte("* ")) {
		// One untagged line before the tagged one is tolerated (nginx
		// since 1.27.3) and relayed with it.
		for {
			i := bytes.IndexByte(reply, '\n')
			if i+1 < len(reply) {
				tagged = reply[i+1:]
				break
			}
			if reply, err = r.More(); err != nil {
				return fail(nil, err)
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
		return fail(reply, nil)
	}
	return append([]byte(nil), reply...), nil
}
