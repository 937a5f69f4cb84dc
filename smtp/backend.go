package smtp

import (
	"net"
	"net/netip"
	"strings"
	"time"

	"mailproxy/authhttp"
	"mailproxy/internal/backend"
	"mailproxy/internal/resolver"
	"mailproxy/internal/sasl"
	"mailproxy/internal/session"
)

// Envelope is what SMTP's backend login replays from the pre-login
// dialogue (SPEC §11.4): the client's HELO/EHLO argument (empty if none
// was given, or after STARTTLS), whether the client ever used EHLO, the
// auth method (authhttp.Method…), the MAIL and RCPT command texts as typed
// for method none, and the Client-Host value and client address for
// XCLIENT.
type Envelope struct {
	Helo       string
	ESMTP      bool
	Method     string
	MailFrom   string
	RcptTo     string
	ClientHost string
	Client     netip.AddrPort
	// BackendMethod is the auth service's Auth-Backend-Method (beyond
	// nginx): the login ends with AUTH in that mechanism, the user and
	// password (the token) in its message, as with proxy_smtp_auth;
	// "" for nginx's login.
	BackendMethod string
}

// handover is the SMTP hand-over: the server's directives and the
// envelope.
type handover struct {
	s *Server
	e Envelope
}

// Handover returns the backend login for a client login with envelope e.
func (s *Server) Handover(e Envelope) session.Handover { return &handover{s: s, e: e} }

// LoginBackend runs nginx's SMTP login dialogue on conn (SPEC §11.4):
//
//  1. the greeting must start with 220; with l.StartTLS, "EHLO
//     <server_name>" (reply 250 listing STARTTLS), "STARTTLS" (one 220
//     line) and the upgrade come first, and everything below runs over
//     TLS;
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
func (h *handover) LoginBackend(conn net.Conn, l *session.Login, bufSize int, deadline time.Time) ([]byte, error) {
	s, e := h.s, &h.e
	conn.SetDeadline(deadline)
	defer conn.SetDeadline(time.Time{})
	d := &dialogue{conn: conn, r: backend.NewReader(conn, bufSize)}
	defer d.r.Release() // every reply kept is a copy

	if err := d.expect(code220); err != nil {
		err.(*session.BackendError).Greeting = true
		return nil, err
	}
	hello := "HELO "
	if e.ESMTP || s.opts.XClient {
		hello = "EHLO "
	}
	if l.StartTLS != nil {
		// STARTTLS is an ESMTP extension: EHLO first, whatever comes
		// after TLS, where the session starts afresh (RFC 3207 §4.2).
		if err := d.step("EHLO "+s.opts.ServerName, code250); err != nil {
			return nil, err
		}
		if !hasExtension(d.reply, "STARTTLS") {
			return nil, backend.NoStartTLS(d.reply)
		}
		if _, err := conn.Write([]byte("STARTTLS\r\n")); err != nil {
			return nil, &session.BackendError{Text: "upstream login failed", Err: err}
		}
		reply, err := readReply(d.r)
		if err != nil {
			return nil, &session.BackendError{Text: "upstream login failed", Err: err}
		}
		if !code220(reply) {
			return nil, backend.NoStartTLS(reply)
		}
		if conn, err = backend.UpgradeTLS(d.r, conn, reply, l.StartTLS); err != nil {
			return nil, err
		}
		d.conn = conn
	}
	if err := d.step(hello+s.opts.ServerName, code250); err != nil {
		return nil, err
	}
	backendAuth := s.opts.ProxySMTPAuth || e.BackendMethod != ""
	if s.opts.XClient {
		if err := d.step(xclientLine(l.User, e, backendAuth), code2x0); err != nil {
			return nil, err
		}
		if e.Helo != "" {
			verb := "HELO "
			if e.ESMTP {
				verb = "EHLO "
			}
			if err := d.step(verb+e.Helo, code250); err != nil {
				return nil, err
			}
		}
	}
	switch {
	case e.Method == authhttp.MethodNone:
		if err := d.step(e.MailFrom, code250); err != nil {
			return nil, err
		}
		if err := d.step(e.RcptTo, anyCode); err != nil {
			return nil, err
		}
		return append([]byte(nil), d.reply...), nil
	case e.BackendMethod != "":
		if err := d.oauth(e.BackendMethod, l); err != nil {
			return nil, err
		}
	case s.opts.ProxySMTPAuth:
		if l.Pass == "" && (e.Method == authhttp.MethodCRAMMD5 || e.Method == authhttp.MethodExternal) {
			return nil, &session.BackendError{Text: "no password available"}
		}
		plain := sasl.Encode([]byte("\x00" + l.User + "\x00" + l.Pass))
		if err := d.step("AUTH PLAIN "+plain, code235); err != nil {
			return nil, err
		}
	}
	return []byte(replyAuthOK), nil
}

// oauth is the AUTH of Auth-Backend-Method: the mechanism's message as
// the initial response, reply 235; a 334 error challenge is acknowledged
// first and the reply to the acknowledgement judged.
func (d *dialogue) oauth(method string, l *session.Login) error {
	mech, msg, ack := sasl.ClientMessage(method, l.User, l.Pass)
	err := d.step("AUTH "+mech+" "+msg, func(r []byte) bool { return code235(r) || code334(r) })
	if err == nil && code334(d.reply) {
		err = d.step(ack, code235)
	}
	return err
}

// hasExtension reports whether an EHLO reply lists the extension ext (the
// first word of one of its lines after the code, any case).
func hasExtension(reply []byte, ext string) bool {
	for _, line := range strings.Split(string(reply), "\r\n") {
		if len(line) < 4 {
			continue
		}
		word, _, _ := strings.Cut(line[4:], " ")
		if strings.EqualFold(word, ext) {
			return true
		}
	}
	return false
}

// xclientLine is nginx's XCLIENT command: ADDR, LOGIN, NAME in that order,
// nothing else.
func xclientLine(user string, e *Envelope, proxyAuth bool) string {
	var b strings.Builder
	b.WriteString("XCLIENT ADDR=")
	a := e.Client.Addr().WithZone("")
	if a.Is6() {
		b.WriteString("IPV6:")
	}
	b.WriteString(a.String())
	if user != "" && !proxyAuth {
		b.WriteString(" LOGIN=")
		b.WriteString(xtext(user))
	}
	host := e.ClientHost
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
