package nginxconf

// The translation builds one level per block (mail, each server) before
// anything is written, because some directives change other keys (`ssl on`
// sets ssl on every listen, error_log is decided across every level).

// note is a YAML comment about one directive: where it comes from and
// what was done with it.
type note struct {
	pos  Pos
	text string
}

// item is one value in the output with the position it comes from.
type item struct {
	text string
	pos  Pos
	bare bool // written as is (true, false); otherwise quoted when needed
}

// entryKind is the YAML shape of an entry.
type entryKind int

const (
	scalarEntry entryKind = iota // key: value
	listEntry                    // key: [a, b] or one item per line
	mapEntry                     // key: then NAME: value lines (auth_http_header)
	listenEntry                  // listen: one item per line
	noteEntry                    // no key: only comments, where the directive was
)

// entry is one key of a level, at the place where the directive first
// appeared.
type entry struct {
	key   string
	kind  entryKind
	pos   Pos
	notes []note
	items []item // values; for mapEntry the values of names
	names []item // mapEntry: the header names
}

// listenItem is one listen directive.
type listenItem struct {
	addr          item
	ssl, proxyPro bool
	ipv6only      string // the ipv6only= parameter as written, "" when absent
	notes         []note
	dropped       bool // merged into another listen
}

// setting is an on|off directive kept aside for later (ssl).
type setting struct {
	on    bool
	pos   Pos
	where *entry // a note entry at the place of the directive
}

// level is the mail block or one server block.
type level struct {
	pos      Pos
	entries  []*entry
	byKey    map[string]*entry
	listens  []*listenItem
	ssl      *setting
	starttls *item
	logs     int            // error_log directives translated
	headers  map[string]Pos // auth_http_header names seen
	seen     map[string]Pos // single-valued directives seen
}

func newLevel(pos Pos) *level {
	return &level{pos: pos, byKey: map[string]*entry{}, headers: map[string]Pos{}, seen: map[string]Pos{}}
}

// entry returns the entry for key, creating it at pos when absent.
func (lv *level) entry(key string, kind entryKind, pos Pos) *entry {
	if e := lv.byKey[key]; e != nil {
		return e
	}
	e := &entry{key: key, kind: kind, pos: pos}
	lv.entries = append(lv.entries, e)
	lv.byKey[key] = e
	return e
}

// insert adds keyed entries after the entry at (nil: at the end).
func (lv *level) insert(at *entry, es ...*entry) {
	i := len(lv.entries)
	for j, e := range lv.entries {
		if e == at {
			i = j + 1
		}
	}
	lv.entries = append(lv.entries[:i], append(es, lv.entries[i:]...)...)
	for _, e := range es {
		lv.byKey[e.key] = e
	}
}

// note adds a comment at the current place of the level and returns its
// entry, so that more notes can be added there later.
func (lv *level) note(pos Pos, format string, args ...any) *entry {
	e := &entry{kind: noteEntry, pos: pos}
	if format != "" {
		e.notes = []note{{pos, sprintf(format, args...)}}
	}
	lv.entries = append(lv.entries, e)
	return e
}
