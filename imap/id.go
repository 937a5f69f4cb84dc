package imap

import (
	"bytes"
	"strconv"
	"strings"

	"mailproxy/internal/session"
)

// IDField is one field of an IMAP ID parameter list (RFC 2971): a name
// and a value, or NIL.
type IDField struct {
	Name  string
	Value string
	Nil   bool // the value is NIL
}

// RFC 2971 §3.3's limits, enforced on what clients send.
const (
	maxIDFields = 30
	maxIDName   = 30
	maxIDValue  = 1024
)

// parseID parses the argument of an ID command from b[p:] (p just after
// the verb): SP then NIL or a parenthesized list of field-value pairs,
// strings quoted or literals, values NIL too, then CRLF (RFC 2971 §4).
// A list breaking RFC 2971's limits is invalid. The fields are copies.
// It returns the offset after the line end.
func parseID(b []byte, p, contSent int, c *command) ([]IDField, int, parseStatus) {
	if p == len(b) {
		return nil, p, parseAgain
	}
	if b[p] != ' ' {
		return nil, p, parseInvalid
	}
	p++
	var fields []IDField
	if st := expectWord(b, p, "NIL"); st != parseOK {
		if st == parseAgain {
			return nil, p, st
		}
		if p == len(b) {
			return nil, p, parseAgain
		}
		if b[p] != '(' {
			return nil, p, parseInvalid
		}
		p++
		fields = []IDField{}
		for {
			if p == len(b) {
				return nil, p, parseAgain
			}
			if b[p] == ')' && len(fields) == 0 {
				break // "()" is tolerated as NIL
			}
			name, next, st := idString(b, p, contSent, c, false)
			if st != parseOK {
				return nil, next, st
			}
			p = next
			if p == len(b) {
				return nil, p, parseAgain
			}
			if b[p] != ' ' {
				return nil, p, parseInvalid
			}
			p++
			value, next, st := idString(b, p, contSent, c, true)
			if st != parseOK {
				return nil, next, st
			}
			p = next
			if len(name) == 0 || len(name) > maxIDName || value != nil && len(value) > maxIDValue || len(fields) == maxIDFields {
				return nil, p, parseInvalid
			}
			f := IDField{Name: string(name), Value: string(value), Nil: value == nil}
			fields = append(fields, f)
			if p == len(b) {
				return nil, p, parseAgain
			}
			if b[p] == ')' {
				break
			}
			if b[p] != ' ' {
				return nil, p, parseInvalid
			}
			p++
		}
		p++ // ')'
	} else {
		p += len("NIL")
	}
	p, st := lineEnd(b, p)
	if st != parseOK {
		return nil, p, st
	}
	return fields, p, parseOK
}

// idString reads a string (quoted or literal) at b[p:], or NIL when nilOK
// (returned as nil data; an empty string is non-nil). Quoted strings must
// be closed and hold no CR or LF.
func idString(b []byte, p, contSent int, c *command, nilOK bool) ([]byte, int, parseStatus) {
	if nilOK {
		switch expectWord(b, p, "NIL") {
		case parseOK:
			return nil, p + 3, parseOK
		case parseAgain:
			return nil, p, parseAgain
		}
	}
	switch b[p] {
	case '"':
		p++
		var out []byte
		for p < len(b) {
			switch ch := b[p]; ch {
			case '"':
				if out == nil {
					out = []byte{}
				}
				return out, p + 1, parseOK
			case '\\':
				if p+1 == len(b) {
					return nil, p, parseAgain
				}
				if b[p+1] != '"' && b[p+1] != '\\' {
					return nil, p, parseInvalid
				}
				out = append(out, b[p+1])
				p += 2
			case '\r', '\n':
				return nil, p, parseInvalid
			default:
				out = append(out, ch)
				p++
			}
		}
		return nil, p, parseAgain
	case '{':
		data, next, st := literalData(b, p+1, contSent, c, 0)
		if st != parseOK {
			return nil, next, st
		}
		return append([]byte{}, data...), next, parseOK
	}
	return nil, p, parseInvalid
}

// expectWord reports whether b[p:] starts with w, ignoring case, followed
// by a byte that ends an atom: parseOK when it does, parseAgain when b
// ends before that can be told, parseInvalid otherwise.
func expectWord(b []byte, p int, w string) parseStatus {
	if len(b)-p <= len(w) {
		if bytes.EqualFold(b[p:], []byte(w)[:len(b)-p]) {
			return parseAgain
		}
		return parseInvalid
	}
	if !bytes.EqualFold(b[p:p+len(w)], []byte(w)) {
		return parseInvalid
	}
	switch b[p+len(w)] {
	case ' ', ')', '\r', '\n':
		return parseOK
	}
	return parseInvalid
}

// formatID renders fields as an ID parameter list: NIL, or the fields
// as quoted strings ('"' and '\' escaped) in parentheses. Fields whose
// name or value holds CR, LF or NUL, which no quoted string can carry,
// are left out.
func formatID(fields []IDField) string {
	var b strings.Builder
	for _, f := range fields {
		if strings.ContainsAny(f.Name, "\r\n\x00") || strings.ContainsAny(f.Value, "\r\n\x00") {
			continue
		}
		if b.Len() == 0 {
			b.WriteByte('(')
		} else {
			b.WriteByte(' ')
		}
		quoteTo(&b, f.Name)
		b.WriteByte(' ')
		if f.Nil {
			b.WriteString("NIL")
		} else {
			quoteTo(&b, f.Value)
		}
	}
	if b.Len() == 0 {
		return "NIL"
	}
	b.WriteByte(')')
	return b.String()
}

// quoteTo writes s as an IMAP quoted string.
func quoteTo(b *strings.Builder, s string) {
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	b.WriteByte('"')
}

// forwardID is the ID list proxy_forward imap_id sends before the login:
// the client's own fields but those it may not set (any "x-" field:
// Dovecot trusts x-originating-ip and its kind from a trusted proxy), at
// most 25, then the client's address and port (after a trusted PROXY
// header, the real ones), the address and port it connected to, and the
// session ID, under Dovecot's names.
func forwardID(client []IDField, c *session.Conn) string {
	var fields []IDField
	for _, f := range client {
		if len(fields) == maxIDFields-5 {
			break
		}
		if len(f.Name) >= 2 && strings.EqualFold(f.Name[:2], "x-") {
			continue
		}
		fields = append(fields, f)
	}
	add := func(name, value string) { fields = append(fields, IDField{Name: name, Value: value}) }
	add("x-originating-ip", c.Client.Addr().WithZone("").String())
	add("x-originating-port", strconv.Itoa(int(c.Client.Port())))
	if c.Local.IsValid() {
		add("x-connected-ip", c.Local.Addr().WithZone("").String())
		add("x-connected-port", strconv.Itoa(int(c.Local.Port())))
	}
	if c.SessionID != "" {
		add("x-session-id", c.SessionID)
	}
	return formatID(fields)
}

// originatingIP returns the value of the x-originating-ip field of the
// client's ID list (the client address a webmail forwards), "" when
// there is none. It is not checked here: the proxy trusts it only from
// its login_throttle exempt sources.
func originatingIP(client []IDField) string {
	for _, f := range client {
		if !f.Nil && strings.EqualFold(f.Name, "x-originating-ip") {
			return f.Value
		}
	}
	return ""
}
