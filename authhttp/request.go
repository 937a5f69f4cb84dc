package authhttp

import (
	"strconv"
	"strings"
)

// AppendRequest appends to dst the complete auth_http request nginx sends
// for r, byte for byte (SPEC §9.2): the request line "GET uri HTTP/1.0",
// "Host: host", the Auth-*/Client-*/Proxy-Protocol-* lines in nginx's
// order, then each extra header as "Name: Value" in the given order, then
// the empty line.
//
// host and uri are written verbatim (see ParseURL for how they come from
// the auth_http URL). Of r's values only User, Pass, IMAPID and SSL.Cert
// are escaped (§9.4); every other value is written as given, so the caller
// must not pass CR or LF in them. Lines are omitted as follows:
//
//   - Method "" and "login" are written as "plain" (nginx reports SASL
//     LOGIN as plain); any other Method is written verbatim.
//   - Auth-Salt only for apop and cram-md5 with a non-empty Salt; one
//     trailing CRLF of Salt (nginx keeps it on the greeting salt) is
//     dropped.
//   - Client-Host only when Protocol is "smtp" and ClientHost is not empty.
//   - Client-Port, Server-Addr, Server-Port and Client-IMAP-ID (beyond
//     nginx: auth_http_pass_client_details) only when not empty, so a
//     request without them is nginx's byte for byte.
//   - Proxy-Protocol-* only when Proxy is not nil.
//   - Auth-SMTP-Helo/-From/-To only for method none (empty values sent).
//   - Auth-SSL* only when SSL is not nil; within it, each field is sent
//     only when non-empty ("Auth-SSL: on" always).
//   - Auth-Failed-Server and Auth-Failed-Reason (beyond nginx) only when
//     FailedServer is not empty (a failover request).
//
// AppendRequest allocates only to grow dst.
func AppendRequest(dst []byte, host, uri string, r *Request, extra []Header) []byte {
	dst = appendRequestLine(dst, host, uri)
	dst = appendFields(dst, r)
	dst = appendCustom(dst, extra)
	return append(dst, "\r\n"...)
}

// appendRequestLine appends the request line and the Host line, the part
// that is fixed for one auth_http URL.
func appendRequestLine(dst []byte, host, uri string) []byte {
	dst = append(dst, "GET "...)
	dst = append(dst, uri...)
	dst = append(dst, " HTTP/1.0\r\nHost: "...)
	dst = append(dst, host...)
	return append(dst, "\r\n"...)
}

// appendCustom appends the auth_http_header lines, verbatim, in order.
func appendCustom(dst []byte, extra []Header) []byte {
	for _, h := range extra {
		dst = appendLine(dst, h.Name, h.Value)
	}
	return dst
}

// wireMethod is the Auth-Method value for r.Method.
func wireMethod(m string) string {
	if m == "" || m == "login" {
		return MethodPlain
	}
	return m
}

// appendFields appends the request-specific lines (SPEC §9.2 rows 2–25).
func appendFields(b []byte, r *Request) []byte {
	method := wireMethod(r.Method)
	b = appendLine(b, "Auth-Method", method)

	b = append(b, "Auth-User: "...)
	b = AppendEscape(b, r.User)
	b = append(b, "\r\nAuth-Pass: "...)
	b = AppendEscape(b, r.Pass)
	b = append(b, "\r\n"...)

	if (method == MethodAPOP || method == MethodCRAMMD5) && r.Salt != "" {
		b = appendLine(b, "Auth-Salt", strings.TrimSuffix(r.Salt, "\r\n"))
	}

	b = appendLine(b, "Auth-Protocol", r.Protocol)
	b = append(b, "Auth-Login-Attempt: "...)
	b = strconv.AppendInt(b, int64(r.LoginAttempt), 10)
	b = append(b, "\r\n"...)
	b = appendLine(b, "Client-IP", r.ClientIP)

	if r.Protocol == "smtp" && r.ClientHost != "" {
		b = appendLine(b, "Client-Host", r.ClientHost)
	}

	b = appendNonEmpty(b, "Client-Port", r.ClientPort)
	b = appendNonEmpty(b, "Server-Addr", r.ServerAddr)
	b = appendNonEmpty(b, "Server-Port", r.ServerPort)
	if r.IMAPID != "" {
		b = appendEscaped(b, "Client-IMAP-ID", r.IMAPID)
	}

	if p := r.Proxy; p != nil {
		b = appendLine(b, "Proxy-Protocol-Addr", p.SrcAddr)
		b = appendLine(b, "Proxy-Protocol-Port", p.SrcPort)
		b = appendLine(b, "Proxy-Protocol-Server-Addr", p.DstAddr)
		b = appendLine(b, "Proxy-Protocol-Server-Port", p.DstPort)
	}

	if method == MethodNone {
		b = appendLine(b, "Auth-SMTP-Helo", r.SMTPHelo)
		b = appendLine(b, "Auth-SMTP-From", r.SMTPFrom)
		b = appendLine(b, "Auth-SMTP-To", r.SMTPTo)
	}

	if s := r.SSL; s != nil {
		b = append(b, "Auth-SSL: on\r\n"...)
		b = appendNonEmpty(b, "Auth-SSL-Protocol", s.Protocol)
		b = appendNonEmpty(b, "Auth-SSL-Cipher", s.Cipher)
		b = appendNonEmpty(b, "Auth-SSL-Verify", s.Verify)
		b = appendNonEmpty(b, "Auth-SSL-Subject", s.Subject)
		b = appendNonEmpty(b, "Auth-SSL-Issuer", s.Issuer)
		b = appendNonEmpty(b, "Auth-SSL-Serial", s.Serial)
		b = appendNonEmpty(b, "Auth-SSL-Fingerprint", s.Fingerprint)
		if s.Cert != "" {
			b = appendEscaped(b, "Auth-SSL-Cert", s.Cert)
		}
	}
	if r.FailedServer != "" {
		// A failover request (beyond nginx): the backend of the previous
		// answer failed.
		b = appendLine(b, "Auth-Failed-Server", r.FailedServer)
		b = appendNonEmpty(b, "Auth-Failed-Reason", r.FailedReason)
	}
	return b
}

// appendLine appends "name: value\r\n".
func appendLine(b []byte, name, value string) []byte {
	b = append(b, name...)
	b = append(b, ": "...)
	b = append(b, value...)
	return append(b, "\r\n"...)
}

// appendEscaped appends "name: value\r\n" with value escaped (§9.4).
func appendEscaped(b []byte, name, value string) []byte {
	b = append(b, name...)
	b = append(b, ": "...)
	b = AppendEscape(b, value)
	return append(b, "\r\n"...)
}

// appendNonEmpty appends "name: value\r\n" when value is not empty.
func appendNonEmpty(b []byte, name, value string) []byte {
	if value == "" {
		return b
	}
	return appendLine(b, name, value)
}
