package smtp

import (
	"net"
	"strings"
	"time"

	"mailproxy/authhttp"
	"mailproxy/internal/backend"
	"mailproxy/internal/resolver"
	"mailproxy/internal/sasl"
	"mailproxy/internal/session"
)

// LoginBackend runs nginx's SMTP login dialogue on conn (SPEC §11.4):
//
//  1. the greeting must start with 220;
//  2. nginx's own "EHLO <server_name>" (HELO when xclient is off and the
//     client never used EHLO), reply 250;
//  3. with xclient: "XCLIENT ADDR=[IPV6:]ip [LOGIN=xtext(user)] NAME=host",
//     LOGIN only for a non-empty user without proxy_smtp_auth, reply 220
//     or 250; then the client's own HELO/EHLO if one is stored, reply 250;
//  4. method none: the MAIL text (reply 250) and the RCPT text (any
//     reply); proxy_smtp_auth: "AUTH PLAIN base64(NUL user NUL pass)",
//     reply 235.
//
// Multi-line replies are read up to their last line (4th byte not '-')
// and judged by the code of their first line. It returns the bytes the
// client must see first: "235 2.0.0 OK", or for method none the backend's
// whole reply to RCPT. bufSize is proxy_buffer; the dialogue must end by
// deadline. Failures are *session.BackendError, with Reply set to the
// buffered backend reply when the backend rejected a step. The caller owns
// conn.
func (s *Server) LoginBackend(conn net.Conn, l *session.Login, bufSize int, deadline time.Time) ([]byte, error) {
	conn.SetDeadline(deadline)
	defer conn.SetDeadline(time.Time{})
	d := &dialogue{conn: conn, r: backend.NewReader(conn, bufSize)}
	defer d.r.Release() // every reply kept is a copy

	if err := d.expect(code220); err != nil {
		return nil, err
	}
	hello := "HELO "
	if l.ESMTP || s.opts.XClient {
		hello = "EHLO "
	}
	if err := d.step(hello+s.opts.ServerName, code250); err != nil {
		return nil, err
	}
	if s.opts.XClient {
		if err := d.step(xclientLine(l, s.opts.ProxySMTPAuth), code2x0); err != nil {
			return nil, err
		}
		if l.Helo != "" {
			verb := "HELO "
			if l.ESMTP {
				verb = "EHLO "
			}
			if err := d.step(verb+l.Helo, code250); err != nil {
				return nil, err
			}
		}
	}
	switch {
	case l.Method == authhttp.MethodNone:
		if err := d.step(l.MailFrom, code250); err != nil {
			return nil, err
		}
		if err := d.step(l.RcptTo, anyCode); err != nil {
			return nil, err
		}
		return append([]byte(nil), d.reply...), nil
	case s.opts.ProxySMTPAuth:
		if l.Pass == "" && (l.Method == authhttp.MethodCRAMMD5 || l.Method == authhttp.MethodExternal) {
			return nil, &session.BackendError{Text: "no password available"}
		}
		plain := sasl.Encode([]byte("\x00" + l.User + "\x00" + l.Pass))
		if err := d.step("AUTH PLAIN "+plain, code235); err != nil {
			return nil, err
		}
	}
	return []byte(replyAuthOK), nil
}

// xclientLine is nginx's XCLIENT command: ADDR, LOGIN, NAME in that order,
// nothing else.
func xclientLine(l *session.Login, proxyAuth bool) string {
	var b strings.Builder
	b.WriteString("XCLIENT ADDR=")
	a := l.Client.Addr().WithZone("")
	if a.Is6() {
		b.WriteString("IPV6:")
	}
	b.WriteString(a.String())
	if l.User != "" && !proxyAuth {
		b.WriteString(" LOGIN=")
		b.WriteString(xtext(l.User))
	}
	host := l.ClientHost
	if host == "" {
		host = resolver.Unavailable
	}
	b.WriteString(" NAME=")
	b.WriteString(host)
	return b.String()
}

// xtext encodes s as nginx HEAD does for XCLIENT LOGIN= (RFC 3461 xtext):
// bytes 0x00–0x20, '+', '=' and 0x7F–0xFF become "+XX" in upper-case hex.
func xtext(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= 0x20 || c == '+' || c == '=' || c >= 0x7f {
			b.WriteByte('+')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&0x0f])
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}
