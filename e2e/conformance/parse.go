package conformance

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Flags of a case (README §7).
const (
	FlagNone     = "none"
	Flag122Only  = "1.22-only"
	FlagBug      = "bug"
	FlagHeadOnly = "head-only"
)

// Case is one parsed *.case file.
type Case struct {
	Name   string
	Path   string
	Spec   []string
	Flag   string
	Notes  []string
	Config []string // nginx directives, placeholders not yet substituted

	Client      []Step      // client-* statements, in order
	Backend     []Step      // backend-* statements, in order
	AuthExpect  [][]byte    // templates of the expected auth requests
	AuthReplies []AuthReply // answers to the auth connections, in order
	DNS         map[DNSKey]DNSAnswer
}

// Step is one client-* or backend-* statement. Op is the keyword without
// its actor prefix ("send", "expect", "silence", "closed", "sleep",
// "starttls", "shutdown", "close").
type Step struct {
	Op      string
	Data    []byte        // send/expect: the bytes or template
	Seconds time.Duration // silence/closed/sleep: the argument (0 if absent)
	HasArg  bool          // whether a SECONDS argument was written
	Line    int           // line of the statement in the file
}

// AuthReply is one auth-reply or auth-hold statement.
type AuthReply struct {
	Hold   bool          // auth-hold: no answer
	HoldOn time.Duration // auth-hold: how long the connection is kept
	Delay  time.Duration // auth-reply delay=
	Gap    time.Duration // auth-reply gap=
	Chunks [][]byte      // auth-reply chunks (placeholders not substituted)
}

// DNS query types the scripted DNS server answers.
const (
	TypeA   uint16 = 1
	TypePTR uint16 = 12
)

// DNSKey identifies one scripted DNS answer: a lower-case query name
// (without trailing dot) and a query type.
type DNSKey struct {
	Name string
	Type uint16
}

// DNSAnswer is a scripted DNS answer: Rcode 0 with Values (PTR: one name;
// A: dotted IPv4 addresses), or rcode 3 (NXDOMAIN) / 2 (SERVFAIL).
type DNSAnswer struct {
	Rcode  int
	Values []string
}

// ParseFile reads and parses one case file.
func ParseFile(path string) (*Case, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	c, err := Parse(path, data)
	if err != nil {
		return nil, err
	}
	c.Path = path
	return c, nil
}

// LoadDir parses every *.case file of dir, sorted by name. Every case's
// name must equal its file name without ".case", and names are unique.
func LoadDir(dir string) ([]*Case, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.case"))
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	var cases []*Case
	for _, f := range files {
		c, err := ParseFile(f)
		if err != nil {
			return nil, err
		}
		if want := strings.TrimSuffix(filepath.Base(f), ".case"); c.Name != want {
			return nil, fmt.Errorf("%s: name %q differs from the file name", f, c.Name)
		}
		cases = append(cases, c)
	}
	return cases, nil
}

// Parse parses the text of one case; file is used in error messages.
func Parse(file string, data []byte) (*Case, error) {
	stmts, err := lexStatements(file, data)
	if err != nil {
		return nil, err
	}
	c := &Case{Flag: FlagNone, DNS: map[DNSKey]DNSAnswer{}}
	for _, s := range stmts {
		if err := c.add(s); err != nil {
			return nil, fmt.Errorf("%s:%d: %s: %v", file, s.line, s.key, err)
		}
	}
	if c.Name == "" {
		return nil, fmt.Errorf("%s: no name statement", file)
	}
	return c, nil
}

// add applies one statement to the case.
func (c *Case) add(s stmt) error {
	var words []string
	var strs [][]byte
	for _, t := range s.args {
		if t.str {
			strs = append(strs, t.data)
		} else {
			words = append(words, t.text)
		}
	}
	need := func(nw, ns int) error {
		if len(words) != nw || len(strs) != ns {
			return fmt.Errorf("want %d word(s) and %d string(s), got %d and %d",
				nw, ns, len(words), len(strs))
		}
		return nil
	}
	switch s.key {
	case "name":
		if err := need(1, 0); err != nil {
			return err
		}
		if c.Name != "" {
			return fmt.Errorf("second name")
		}
		c.Name = words[0]
	case "spec":
		if len(strs) != 0 {
			return fmt.Errorf("strings not allowed")
		}
		c.Spec = append(c.Spec, words...)
	case "flag":
		if err := need(1, 0); err != nil {
			return err
		}
		switch words[0] {
		case FlagNone, Flag122Only, FlagBug, FlagHeadOnly:
			c.Flag = words[0]
		default:
			return fmt.Errorf("unknown flag %q", words[0])
		}
	case "note":
		if err := need(0, 1); err != nil {
			return err
		}
		c.Notes = append(c.Notes, string(strs[0]))
	case "config":
		if err := need(0, 1); err != nil {
			return err
		}
		c.Config = append(c.Config, string(strs[0]))
	case "client-send", "client-expect", "backend-send", "backend-expect":
		if err := need(0, 1); err != nil {
			return err
		}
		c.addStep(s, Step{Data: strs[0]})
	case "client-silence", "client-sleep", "backend-sleep", "auth-hold":
		if err := need(1, 0); err != nil {
			return err
		}
		d, err := seconds(words[0])
		if err != nil {
			return err
		}
		if s.key == "auth-hold" {
			c.AuthReplies = append(c.AuthReplies, AuthReply{Hold: true, HoldOn: d})
			return nil
		}
		c.addStep(s, Step{Seconds: d, HasArg: true})
	case "client-closed", "backend-closed":
		if len(strs) != 0 || len(words) > 1 {
			return fmt.Errorf("want at most one word")
		}
		st := Step{Seconds: 3 * time.Second}
		if len(words) == 1 {
			d, err := seconds(words[0])
			if err != nil {
				return err
			}
			st.Seconds, st.HasArg = d, true
		}
		c.addStep(s, st)
	case "client-starttls", "client-shutdown", "backend-close":
		if err := need(0, 0); err != nil {
			return err
		}
		c.addStep(s, Step{})
	case "auth-expect":
		if err := need(0, 1); err != nil {
			return err
		}
		c.AuthExpect = append(c.AuthExpect, strs[0])
	case "auth-reply":
		return c.addAuthReply(words, strs)
	case "dns-ptr", "dns-a":
		return c.addDNS(s.key, words, strs)
	default:
		return fmt.Errorf("unknown keyword")
	}
	return nil
}

// addStep appends a client or backend step, deriving Op from the keyword.
func (c *Case) addStep(s stmt, st Step) {
	st.Line = s.line
	if op, ok := strings.CutPrefix(s.key, "client-"); ok {
		st.Op = op
		c.Client = append(c.Client, st)
		return
	}
	st.Op = strings.TrimPrefix(s.key, "backend-")
	c.Backend = append(c.Backend, st)
}

func (c *Case) addAuthReply(words []string, strs [][]byte) error {
	if len(strs) == 0 {
		return fmt.Errorf("no chunk")
	}
	r := AuthReply{Chunks: strs}
	for _, w := range words {
		k, v, ok := strings.Cut(w, "=")
		if !ok {
			return fmt.Errorf("bad option %q", w)
		}
		d, err := seconds(v)
		if err != nil {
			return err
		}
		switch k {
		case "delay":
			r.Delay = d
		case "gap":
			r.Gap = d
		default:
			return fmt.Errorf("unknown option %q", w)
		}
	}
	c.AuthReplies = append(c.AuthReplies, r)
	return nil
}

func (c *Case) addDNS(key string, words []string, strs [][]byte) error {
	if len(strs) == 0 {
		return fmt.Errorf("no name")
	}
	var k DNSKey
	if key == "dns-ptr" {
		ip := net.ParseIP(string(strs[0])).To4()
		if ip == nil {
			return fmt.Errorf("bad IPv4 %q", strs[0])
		}
		k = DNSKey{Name: fmt.Sprintf("%d.%d.%d.%d.in-addr.arpa", ip[3], ip[2], ip[1], ip[0]), Type: TypePTR}
	} else {
		k = DNSKey{Name: strings.ToLower(strings.TrimSuffix(string(strs[0]), ".")), Type: TypeA}
	}
	var a DNSAnswer
	switch {
	case len(words) == 1 && len(strs) == 1 && words[0] == "nxdomain":
		a.Rcode = 3
	case len(words) == 1 && len(strs) == 1 && words[0] == "servfail":
		a.Rcode = 2
	case len(words) == 0 && key == "dns-ptr" && len(strs) == 2:
		a.Values = []string{string(strs[1])}
	case len(words) == 0 && key == "dns-a" && len(strs) >= 2:
		for _, s := range strs[1:] {
			if net.ParseIP(string(s)).To4() == nil {
				return fmt.Errorf("bad IPv4 %q", s)
			}
			a.Values = append(a.Values, string(s))
		}
	default:
		return fmt.Errorf("bad arguments")
	}
	c.DNS[k] = a
	return nil
}

// seconds parses a decimal number of seconds such as "0.3" or "4".
func seconds(w string) (time.Duration, error) {
	f, err := strconv.ParseFloat(w, 64)
	if err != nil || f < 0 || f > 3600 {
		return 0, fmt.Errorf("bad seconds %q", w)
	}
	return time.Duration(f * float64(time.Second)), nil
}

// Protocol returns the argument of the case's `protocol` directive, or ""
// when there is none.
func (c *Case) Protocol() string {
	for _, l := range c.Config {
		d, err := parseDirective(l)
		if err == nil && d.name == "protocol" && len(d.args) > 0 {
			return d.args[0]
		}
	}
	return ""
}
