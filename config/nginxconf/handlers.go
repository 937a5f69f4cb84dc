package nginxconf

import (
	"strconv"
	"strings"
)

// Translations of the directives that map onto one mailproxy key.

// translate is the signature of a directive's translation.
type translate = func(t *translator, lv *level, d *Directive)

// once reports whether d is the first occurrence of its directive at lv;
// a second one is nginx's "is duplicate".
func (t *translator) once(lv *level, d *Directive) bool {
	if _, dup := lv.seen[d.Name]; dup {
		t.ps.add(d.Pos, "%q directive is duplicate", d.Name)
		return false
	}
	lv.seen[d.Name] = d.Pos
	return true
}

// set records a single value for key.
func set(lv *level, key string, d *Directive, it item) *entry {
	e := lv.entry(key, scalarEntry, d.Pos)
	e.items = []item{it}
	return e
}

// scalar translates a one-argument directive whose value mailproxy reads
// with nginx's syntax (times, sizes, numbers, names, URLs).
func scalar(key string) translate {
	return func(t *translator, lv *level, d *Directive) {
		if t.once(lv, d) {
			set(lv, key, d, item{text: d.Args[0].Text, pos: d.Pos})
		}
	}
}

// onOff parses nginx's FLAG value (case-insensitive on or off).
func (t *translator) onOff(d *Directive) (on, ok bool) {
	switch v := d.Args[0].Text; {
	case strings.EqualFold(v, "on"):
		return true, true
	case strings.EqualFold(v, "off"):
		return false, true
	}
	t.ps.add(d.Args[0].Pos, "invalid value %q in %q directive, it must be \"on\" or \"off\"", d.Args[0].Text, d.Name)
	return false, false
}

// onOffKey translates an on|off directive into a YAML boolean.
func onOffKey(key string) translate {
	return func(t *translator, lv *level, d *Directive) {
		on, ok := t.onOff(d)
		if ok && t.once(lv, d) {
			set(lv, key, d, item{text: strconv.FormatBool(on), pos: d.Pos, bare: true})
		}
	}
}

// oneOf returns the choice equal to v ignoring case (nginx compares enum
// and bitmask values with strcasecmp), or "".
func oneOf(v string, choices []string) string {
	for _, c := range choices {
		if strings.EqualFold(v, c) {
			return c
		}
	}
	return ""
}

// enum translates a directive whose value is one keyword of choices.
func enum(key string, choices ...string) translate {
	return func(t *translator, lv *level, d *Directive) {
		v := oneOf(d.Args[0].Text, choices)
		if v == "" {
			t.ps.add(d.Args[0].Pos, "invalid value %q", d.Args[0].Text)
			return
		}
		if t.once(lv, d) {
			set(lv, key, d, item{text: v, pos: d.Pos})
		}
	}
}

// list translates a directive whose arguments, over every occurrence at
// one level, make one list (capabilities, auth methods, ssl_protocols,
// set_real_ip_from…). choices, when not nil, are the allowed keywords.
func list(key string, choices []string) translate {
	return func(t *translator, lv *level, d *Directive) {
		e := lv.entry(key, listEntry, d.Pos)
		for _, a := range d.Args {
			v := a.Text
			if choices != nil {
				if v = oneOf(a.Text, choices); v == "" {
					t.ps.add(a.Pos, "invalid value %q", a.Text)
					continue
				}
			}
			e.items = append(e.items, item{text: v, pos: a.Pos})
		}
	}
}

// filePath resolves a TLS file name as nginx does (relative to the conf
// prefix). ok is false for what cannot be a file.
func (t *translator) filePath(d *Directive) (string, bool) {
	v := d.Args[0].Text
	if strings.HasPrefix(v, "data:") && strings.HasPrefix(d.Name, "ssl_certificate") {
		t.ps.add(d.Args[0].Pos, "directive %q with inline \"data:\" cannot be honoured: certificates and keys are read from files", d.Name)
		return "", false
	}
	return join(t.paths.confPrefix, v), true
}

// pathKey translates a single file name.
func pathKey(key string) translate {
	return func(t *translator, lv *level, d *Directive) {
		p, ok := t.filePath(d)
		if ok && t.once(lv, d) {
			set(lv, key, d, item{text: p, pos: d.Pos})
		}
	}
}

// pathList translates a repeatable file name into a list.
func pathList(key string) translate {
	return func(t *translator, lv *level, d *Directive) {
		if p, ok := t.filePath(d); ok {
			e := lv.entry(key, listEntry, d.Pos)
			e.items = append(e.items, item{text: p, pos: d.Args[0].Pos})
		}
	}
}

// unsupported refuses a directive mailproxy cannot honour.
func unsupported(why string) translate {
	return func(t *translator, lv *level, d *Directive) {
		t.ps.add(d.Pos, "directive %q is not supported: %s", d.Name, why)
	}
}

// proxy drops `proxy on|off`, which nginx parses and never uses.
func (t *translator) proxy(lv *level, d *Directive) {
	if _, ok := t.onOff(d); ok && t.once(lv, d) {
		lv.note(d.Pos, "\"proxy %s\" dropped: it has no effect (in nginx either)", strings.ToLower(d.Args[0].Text))
	}
}

// certCompression keeps `ssl_certificate_compression off` (the default,
// dropped with a note) and refuses on.
func (t *translator) certCompression(lv *level, d *Directive) {
	on, ok := t.onOff(d)
	switch {
	case !ok || !t.once(lv, d):
	case on:
		t.ps.add(d.Pos, "directive %q is not supported: Go's TLS does not compress certificates", d.Name)
	default:
		lv.note(d.Pos, "\"ssl_certificate_compression off\" dropped: the default (Go's TLS never compresses certificates)")
	}
}

// authHTTPHeader adds one header to the auth_http_header map.
func (t *translator) authHTTPHeader(lv *level, d *Directive) {
	name := d.Args[0].Text
	if first, dup := lv.headers[name]; dup {
		t.ps.add(d.Pos, "directive %q cannot be honoured: header %q is already set at %s, and mailproxy sends each header name once", d.Name, name, t.show(first))
		return
	}
	lv.headers[name] = d.Pos
	e := lv.entry("auth_http_header", mapEntry, d.Pos)
	e.names = append(e.names, item{text: name, pos: d.Pos})
	e.items = append(e.items, item{text: d.Args[1].Text, pos: d.Pos})
}

// resolver translates `resolver ADDRESS… [PARAM=VALUE…]` or `resolver off`
// into a list of its words (mailproxy reads nginx's parameters).
func (t *translator) resolver(lv *level, d *Directive) {
	if !t.once(lv, d) {
		return
	}
	e := lv.entry("resolver", listEntry, d.Pos)
	for _, a := range d.Args {
		e.items = append(e.items, item{text: a.Text, pos: a.Pos})
	}
}

// ssl keeps `ssl on|off` aside: it becomes ssl: true on every listen of
// the servers it applies to (see finish).
func (t *translator) ssl(lv *level, d *Directive) {
	on, ok := t.onOff(d)
	if !ok || !t.once(lv, d) {
		return
	}
	if on && lv.starttls != nil && lv.starttls.text != "off" {
		t.ps.add(d.Pos, `"ssl" directive conflicts with "starttls"`)
		return
	}
	lv.ssl = &setting{on: on, pos: d.Pos, where: lv.note(d.Pos, "")}
}

// starttls translates starttls off|on|only.
func (t *translator) starttls(lv *level, d *Directive) {
	v := oneOf(d.Args[0].Text, []string{"off", "on", "only"})
	if v == "" {
		t.ps.add(d.Args[0].Pos, "invalid value %q", d.Args[0].Text)
		return
	}
	if !t.once(lv, d) {
		return
	}
	if v != "off" && lv.ssl != nil && lv.ssl.on {
		t.ps.add(d.Pos, `"starttls" directive conflicts with "ssl on"`)
		return
	}
	it := item{text: v, pos: d.Pos}
	lv.starttls = &it
	set(lv, "starttls", d, it)
}
