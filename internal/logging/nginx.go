package logging

import (
	"context"
	"log/slog"
	"net/netip"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// ConnKey is the attribute key that carries a session's number (see
// Conn). The nginx format prints it as "*N"; the text and JSON formats
// leave it out.
const ConnKey = "*"

// Conn is the attribute that numbers a session's lines, as nginx numbers
// a connection's: add it with Logger.With to every line of a session.
func Conn(id uint64) slog.Attr { return slog.Uint64(ConnKey, id) }

// errorLogTime is nginx's error_log time stamp (local time).
const errorLogTime = "2006/01/02 15:04:05"

// trailerKeys are the attributes the nginx format writes last, in this
// order, as nginx's mail module ends its lines: ", client: IP, server:
// ADDR, login: "NAME", upstream: ADDR".
var trailerKeys = [...]string{"client", "server", "login", "upstream"}

// nginxHandler writes records in nginx's error_log format:
//
//	YYYY/MM/DD HH:MM:SS [LEVEL] PID#TID: *CID MESSAGE, KEY: VALUE, …
//
// LEVEL is nginx's name of the record's level; TID is the PID (mailproxy
// is one process, nginx prints its worker's thread, whose main thread
// has the worker's PID); "*CID " is there for a session's lines only
// (Conn). Attributes follow the message as ", KEY: VALUE" — the record's,
// then those added with WithAttrs — and the session's client, server,
// login and upstream come last, as nginx writes them (client as the IP
// address, login in double quotes, an empty one left out). Values with spaces, commas, quotes
// or control characters are written in double quotes with Go escapes,
// and control characters in the message as \xNN, so that a value can
// never start a line of its own. Redact applies.
type nginxHandler struct {
	out *sinkOutput
	pid int
	now func() time.Time

	conn    uint64          // 0: not a session
	attrs   []renderedAttr  // from WithAttrs, trailer keys excluded
	trailer [4]renderedAttr // from WithAttrs, by trailerKeys index
	groups  []string        // open groups, for keys and Redact
}

// renderedAttr is an attribute with its full key and written value.
type renderedAttr struct {
	key, val string
	set      bool
}

func (h *nginxHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.out.level }

func (h *nginxHandler) WithAttrs(as []slog.Attr) slog.Handler {
	c := *h
	c.attrs = append([]renderedAttr(nil), h.attrs...)
	for _, a := range as {
		c.add(a, &c.attrs, &c.trailer)
	}
	return &c
}

func (h *nginxHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	c := *h
	c.groups = append(append([]string(nil), h.groups...), name)
	return &c
}

// add renders a (after Redact, groups flattened into dotted keys) into
// list, or into trailer for a top-level trailer key; Conn sets h.conn.
func (h *nginxHandler) add(a slog.Attr, list *[]renderedAttr, trailer *[4]renderedAttr) {
	h.addIn(h.groups, a, list, trailer)
}

func (h *nginxHandler) addIn(groups []string, a slog.Attr, list *[]renderedAttr, trailer *[4]renderedAttr) {
	a = Redact(groups, a)
	a.Value = a.Value.Resolve()
	if a.Equal(slog.Attr{}) {
		return
	}
	if a.Value.Kind() == slog.KindGroup {
		sub := groups
		if a.Key != "" {
			sub = append(append([]string(nil), groups...), a.Key)
		}
		for _, g := range a.Value.Group() {
			h.addIn(sub, g, list, trailer)
		}
		return
	}
	if len(groups) == 0 {
		if a.Key == ConnKey {
			if a.Value.Kind() == slog.KindUint64 {
				h.conn = a.Value.Uint64()
			}
			return
		}
		for i, k := range trailerKeys {
			if a.Key == k {
				// nginx leaves out a login or upstream it does not have.
				trailer[i] = renderedAttr{key: k, val: trailerValue(k, a.Value), set: a.Value.String() != ""}
				return
			}
		}
	}
	key := a.Key
	if len(groups) > 0 {
		key = strings.Join(groups, ".") + "." + key
	}
	*list = append(*list, renderedAttr{key: string(appendMessage(nil, key)), val: value(a.Value), set: true})
}

// trailerValue writes a trailer attribute as nginx does: the client as
// its IP address, the login always quoted.
func trailerValue(key string, v slog.Value) string {
	s := v.String()
	switch key {
	case "client":
		if ap, err := netip.ParseAddrPort(s); err == nil {
			return ap.Addr().String()
		}
	case "login":
		return strconv.Quote(s)
	}
	return quoteIfNeeded(s)
}

// value writes an attribute value.
func value(v slog.Value) string {
	switch v.Kind() {
	case slog.KindTime:
		return v.Time().Format(time.RFC3339Nano)
	case slog.KindDuration:
		return v.Duration().String()
	}
	return quoteIfNeeded(v.String())
}

// quoteIfNeeded returns s bare when it has no space, comma, quote,
// backslash or unprintable character, else quoted with Go escapes.
func quoteIfNeeded(s string) string {
	if s == "" || strings.ContainsAny(s, " ,") {
		return strconv.Quote(s)
	}
	if q := strconv.Quote(s); q[1:len(q)-1] != s {
		return q
	}
	return s
}

func (h *nginxHandler) Handle(_ context.Context, r slog.Record) error {
	c := *h // the record's attributes are added to a copy
	list := make([]renderedAttr, 0, r.NumAttrs()+len(h.attrs))
	trailer := h.trailer
	r.Attrs(func(a slog.Attr) bool {
		c.add(a, &list, &trailer)
		return true
	})
	list = append(list, h.attrs...)

	b := make([]byte, 0, 256)
	b = c.now().AppendFormat(b, errorLogTime)
	b = append(b, " ["...)
	b = append(b, LevelName(r.Level)...)
	b = append(b, "] "...)
	b = strconv.AppendInt(b, int64(c.pid), 10)
	b = append(b, '#')
	b = strconv.AppendInt(b, int64(c.pid), 10)
	b = append(b, ": "...)
	if c.conn != 0 {
		b = append(b, '*')
		b = strconv.AppendUint(b, c.conn, 10)
		b = append(b, ' ')
	}
	b = appendMessage(b, r.Message)
	for _, a := range list {
		b = append(b, ", "...)
		b = append(b, a.key...)
		b = append(b, ": "...)
		b = append(b, a.val...)
	}
	for _, a := range trailer {
		if a.set {
			b = append(b, ", "...)
			b = append(b, a.key...)
			b = append(b, ": "...)
			b = append(b, a.val...)
		}
	}
	b = append(b, '\n')
	return c.out.write(r.Level, b)
}

// appendMessage appends msg (or a key) with control characters and
// invalid UTF-8 written as \xNN.
func appendMessage(b []byte, msg string) []byte {
	for i := 0; i < len(msg); {
		c := msg[i]
		if c >= 0x20 && c < 0x7f {
			b = append(b, c)
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(msg[i:])
		if c >= 0x80 && r != utf8.RuneError {
			b = append(b, msg[i:i+n]...)
			i += n
			continue
		}
		b = append(b, '\\', 'x', "0123456789ABCDEF"[c>>4], "0123456789ABCDEF"[c&15])
		i++
	}
	return b
}
