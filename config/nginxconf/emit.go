package nginxconf

import (
	"bytes"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	yaml "go.yaml.in/yaml/v3"
)

// writer builds the YAML document line by line, remembering the nginx
// position each line comes from.
type writer struct {
	t       *translator
	b       bytes.Buffer
	source  []Pos       // source[i] is the position of line i+1
	servers map[int]Pos // first line of each server entry → its server block
}

// line writes one line.
func (w *writer) line(pos Pos, s string) {
	w.b.WriteString(s)
	w.b.WriteByte('\n')
	w.source = append(w.source, pos)
}

// comment writes a note as a comment line.
func (w *writer) comment(indent string, n note) {
	text := n.text
	if n.pos.File != "" {
		text = w.t.show(n.pos) + ": " + text
	}
	w.line(n.pos, indent+"# "+printable(text))
}

// printable escapes what must not appear in a YAML comment: line breaks
// (YAML also breaks lines at U+0085, U+2028 and U+2029), other
// non-printable characters and invalid UTF-8.
func printable(s string) string {
	var b strings.Builder
	for i, r := range s {
		switch {
		case r == utf8.RuneError && !strings.HasPrefix(s[i:], "\uFFFD"): // an invalid byte
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case !unicode.IsPrint(r) && r != '\t':
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// emit writes the document: header, top-level keys, mail, servers.
func (t *translator) emit() *Result {
	w := &writer{t: t, servers: map[int]Pos{}}
	w.line(Pos{}, "# Translated from "+printable(t.paths.file))
	w.line(Pos{}, "# by `mailproxy import-nginx`. Comments give the nginx file:line of each")
	w.line(Pos{}, "# directive that is not translated word for word.")
	for _, e := range t.top.entries {
		w.entry("", "", e)
	}
	w.level("mail:", "  ", "  ", t.mail)
	w.line(t.mail.pos, "servers:")
	for _, srv := range t.servers {
		w.comment("  ", note{srv.pos, "server"})
		w.level("", "    ", "  - ", srv)
	}
	return &Result{File: t.paths.file, YAML: w.b.Bytes(), source: w.source, servers: w.servers}
}

// level writes the keys of a block. head is the line that opens it (none
// for a server), indent the keys' indentation and first what goes before
// the first key ("  - " for a server entry). A block without keys is
// written as {} so that it stays a map.
func (w *writer) level(head, indent, first string, lv *level) {
	keys := 0
	for _, e := range lv.entries {
		if e.kind != noteEntry {
			keys++
		}
	}
	if keys == 0 {
		for _, e := range lv.entries {
			w.entry(indent, indent, e)
		}
		if head == "" {
			w.servers[len(w.source)+1] = lv.pos
			w.line(lv.pos, first+"{}")
		} else {
			w.line(lv.pos, head+" {}")
		}
		return
	}
	if head != "" {
		w.line(lv.pos, head)
	}
	for _, e := range lv.entries {
		prefix := indent
		if e.kind != noteEntry && first != indent {
			prefix, first = first, indent
			w.servers[len(w.source)+len(e.notes)+1] = lv.pos
		}
		w.entry(indent, prefix, e)
	}
}

// entry writes one key with its notes. indent is the key's indentation,
// first the text before the key on its line (indent, or "  - " for the
// first key of a server).
func (w *writer) entry(indent, first string, e *entry) {
	for _, n := range e.notes {
		w.comment(indent, n)
	}
	head := first + e.key + ":"
	switch e.kind {
	case noteEntry:
	case scalarEntry:
		w.line(e.pos, head+" "+value(e.items[0]))
	case listEntry:
		if oneLine(e.items) {
			vals := make([]string, len(e.items))
			for i, it := range e.items {
				vals[i] = value(it)
			}
			w.line(e.pos, head+" ["+strings.Join(vals, ", ")+"]")
			return
		}
		w.line(e.pos, head)
		for _, it := range e.items {
			w.line(it.pos, indent+"  - "+value(it))
		}
	case mapEntry:
		w.line(e.pos, head)
		for i, name := range e.names {
			w.line(name.pos, indent+"  "+quote(name.text)+": "+value(e.items[i]))
		}
	case listenEntry:
		w.line(e.pos, head)
		for _, l := range w.t.listensOf(e) {
			for _, n := range l.notes {
				w.comment(indent+"  ", n)
			}
			w.line(l.addr.pos, indent+"  - "+listenValue(l))
		}
	}
}

// listensOf returns the listens kept for the level that owns e.
func (t *translator) listensOf(e *entry) []*listenItem {
	for _, srv := range t.servers {
		if srv.byKey["listen"] == e {
			var out []*listenItem
			for _, l := range srv.listens {
				if !l.dropped {
					out = append(out, l)
				}
			}
			return out
		}
	}
	return nil
}

// listenValue writes a listen item: the address alone, or a flow map
// with the flags that are set.
func listenValue(l *listenItem) string {
	if !l.ssl && !l.proxyPro {
		return quote(l.addr.text)
	}
	s := "{address: " + strconv.Quote(l.addr.text)
	if l.ssl {
		s += ", ssl: true"
	}
	if l.proxyPro {
		s += ", proxy_protocol: true"
	}
	return s + "}"
}

// oneLine reports whether every item comes from one line (one directive),
// so the list can be written as [a, b] without losing positions.
func oneLine(items []item) bool {
	for _, it := range items[1:] {
		if it.pos != items[0].pos && (it.pos.File != items[0].pos.File || it.pos.Line != items[0].pos.Line) {
			return false
		}
	}
	return true
}

// value writes one value.
func value(it item) string {
	if it.bare {
		return it.text
	}
	return quote(it.text)
}

// plainRE is what may be written without quotes: no YAML indicator at the
// start, nothing that means something inside flow collections.
var plainRE = regexp.MustCompile(`^[A-Za-z0-9_./][A-Za-z0-9_./@%+=!*-]*$`)

// decimalRE is an integer as nginx writes it.
var decimalRE = regexp.MustCompile(`^(0|[1-9][0-9]{0,17})$`)

// quote writes s as a YAML scalar that reads back as s: plain when that
// is safe (and reads as a string, or as the same decimal integer),
// double-quoted otherwise.
func quote(s string) string {
	if plainRE.MatchString(s) {
		var n yaml.Node
		if yaml.Unmarshal([]byte("["+s+"]"), &n) == nil && len(n.Content) == 1 && len(n.Content[0].Content) == 1 {
			v := n.Content[0].Content[0]
			if v.Value == s && (v.ShortTag() == "!!str" || v.ShortTag() == "!!int" && decimalRE.MatchString(s)) {
				return s
			}
		}
	}
	return strconv.Quote(s)
}
