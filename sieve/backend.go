package sieve

import (
	"bytes"
	"net"
	"time"

	"mailproxy/internal/backend"
	"mailproxy/internal/sasl"
	"mailproxy/internal/session"
)

// backendLogin is the ManageSieve hand-over: it needs nothing from the
// pre-login dialogue but the auth service's Auth-Backend-Method (""
// for AUTHENTICATE "PLAIN").
type backendLogin struct{ method string }

// Handover returns the ManageSieve backend login.
func Handover() session.Handover { return backendLogin{} }

// LoginBackend logs in to a ManageSieve backend on conn: it reads the
// capability greeting up to its OK; with l.StartTLS the listing must hold
// "STARTTLS", which is sent (the reply must be one OK line), the
// connection upgraded and the capabilities read again; it then sends AUTHENTICATE "PLAIN" with the
// user and password as the initial response, and returns the backend's
// OK reply to relay to the client (it answers the client's AUTHENTICATE).
// With Auth-Backend-Method the mechanism is XOAUTH2 or OAUTHBEARER, the
// user and password (the token) in its message; the backend's error
// challenge is acknowledged before its NO.
// A greeting or reply other than OK fails with the backend's reply as
// *session.BackendError.Reply; transport errors, the deadline and replies
// that do not fit bufSize fail with Reply nil. The caller owns conn.
func (b backendLogin) LoginBackend(conn net.Conn, l *session.Login, bufSize int, deadline time.Time) ([]byte, error) {
	conn.SetDeadline(deadline)
	defer conn.SetDeadline(time.Time{})
	if b.method != "" {
		return b.oauth(conn, l, bufSize)
	}
	if !backend.SafeArgument(l.User) || !backend.SafeArgument(l.Pass) {
		return nil, &session.BackendError{Text: "upstream login refused", Err: backend.ErrUnsafeArgument}
	}
	r := backend.NewReader(conn, bufSize)
	defer r.Release() // every reply kept is a copy
	greeting, err := final(r, true)
	if err != nil {
		err.(*session.BackendError).Greeting = true
		return nil, err
	}
	if l.StartTLS != nil {
		if !offersStartTLS(greeting) {
			return nil, backend.NoStartTLS(lastLine(greeting))
		}
		if _, err := conn.Write([]byte("STARTTLS\r\n")); err != nil {
			return nil, &session.BackendError{Text: "upstream login failed", Err: err}
		}
		reply, err := r.Next()
		if err != nil {
			return nil, &session.BackendError{Text: "upstream login failed", Err: err}
		}
		if !hasWord(reply, "OK") {
			return nil, backend.NoStartTLS(reply)
		}
		if conn, err = backend.UpgradeTLS(r, conn, reply, l.StartTLS); err != nil {
			return nil, err
		}
		// RFC 5804 §2.2: the capabilities again, over TLS.
		if _, err := final(r, true); err != nil {
			return nil, err
		}
	}
	ir := sasl.Encode([]byte("\x00" + l.User + "\x00" + l.Pass))
	if _, err := conn.Write([]byte(`AUTHENTICATE "PLAIN" "` + ir + "\"\r\n")); err != nil {
		return nil, &session.BackendError{Text: "upstream login failed", Err: err}
	}
	reply, err := final(r, false)
	if err != nil {
		return nil, err
	}
	return append([]byte(nil), reply...), nil
}

// oauth is LoginBackend for an Auth-Backend-Method.
func (b backendLogin) oauth(conn net.Conn, l *session.Login, bufSize int) ([]byte, error) {
	mech, msg, ack := sasl.ClientMessage(b.method, l.User, l.Pass)
	r := backend.NewReader(conn, bufSize)
	defer r.Release() // every reply kept is a copy
	if _, err := final(r, true); err != nil {
		return nil, err
	}
	if _, err := conn.Write([]byte(`AUTHENTICATE "` + mech + `" "` + msg + "\"\r\n")); err != nil {
		return nil, &session.BackendError{Text: "upstream login failed", Err: err}
	}
	buf, err := r.Next()
	if err == nil && (buf[0] == '"' || buf[0] == '{') {
		// The error challenge, a string (RFC 5804 §2.1): a literal's
		// data may need more reads.
		for err == nil && !challengeComplete(buf) {
			buf, err = r.More()
		}
		if err == nil {
			_, err = conn.Write([]byte(`"` + ack + "\"\r\n"))
		}
		if err == nil {
			buf, err = r.Next()
		}
	}
	if err != nil {
		return nil, &session.BackendError{Text: "upstream login failed", Err: err}
	}
	reply, err := finalFrom(r, buf, false)
	if err != nil {
		return nil, err
	}
	return append([]byte(nil), reply...), nil
}

// challengeComplete reports whether buf holds a whole challenge string:
// a quoted line, or a literal's "{N}" line and its N bytes and CRLF.
func challengeComplete(buf []byte) bool {
	if buf[0] != '{' {
		return true
	}
	n, i := 0, 1
	for ; i < len(buf) && buf[i] >= '0' && buf[i] <= '9' && n < 1<<20; i++ {
		n = n*10 + int(buf[i]-'0')
	}
	head := bytes.IndexByte(buf, '\n') + 1
	return len(buf) >= head+n+2
}

// final reads backend lines until one is a response (OK, NO or BYE) and
// returns everything read; only OK is a success. Before that response
// only the greeting may have other lines (the capability listing).
func final(r *backend.Reader, greeting bool) ([]byte, error) {
	buf, err := r.Next()
	if err != nil {
		return nil, &session.BackendError{Text: "upstream login failed", Err: err}
	}
	return finalFrom(r, buf, greeting)
}

// finalFrom is final for lines already read into buf.
func finalFrom(r *backend.Reader, buf []byte, greeting bool) ([]byte, error) {
	var err error
	for {
		if err != nil {
			return nil, &session.BackendError{Text: "upstream login failed", Err: err}
		}
		last := lastLine(buf)
		switch {
		case hasWord(last, "OK"):
			return buf, nil
		case hasWord(last, "NO"), hasWord(last, "BYE"), !greeting:
			return nil, &session.BackendError{Text: string(bytes.TrimSuffix(last, []byte("\r\n"))), Reply: append([]byte(nil), buf...)}
		}
		buf, err = r.More()
	}
}

// offersStartTLS reports whether a capability listing holds the
// "STARTTLS" capability.
func offersStartTLS(listing []byte) bool {
	for _, line := range bytes.Split(listing, []byte("\r\n")) {
		if bytes.EqualFold(bytes.TrimSpace(line), []byte(`"STARTTLS"`)) {
			return true
		}
	}
	return false
}

// lastLine returns the last CRLF-terminated line of buf.
func lastLine(buf []byte) []byte {
	i := bytes.LastIndexByte(buf[:len(buf)-1], '\n')
	return buf[i+1:]
}

// hasWord reports whether line starts with w (any case) followed by SP,
// '(' or the line end.
func hasWord(line []byte, w string) bool {
	if len(line) < len(w) || !bytes.EqualFold(line[:len(w)], []byte(w)) {
		return false
	}
	rest := line[len(w):]
	return len(rest) == 0 || rest[0] == ' ' || rest[0] == '(' || rest[0] == '\r' || rest[0] == '\n'
}
