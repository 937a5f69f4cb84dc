package authservice

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strconv"
	"strings"
)

// Protocols lists the protocol names a users file may give: nginx's three
// mail protocols, then ManageSieve (RFC 5804, Auth-Protocol: sieve).
var Protocols = []string{"imap", "pop3", "smtp", "sieve"}

// defaultProtocols are the protocols a line without a protocol field
// applies to, in order. A sieve backend is its own service (port 4190), so
// it is only ever taken from a line that names sieve.
var defaultProtocols = Protocols[:3]

// RelayName is the user name of the relay fallback entry: it is never
// matched by a login, only by method none (SMTP relay) when no user matches
// the recipient.
const RelayName = "*"

// Users is a parsed users file. It is immutable once returned, so a Service
// can swap it atomically on reload while requests still use the old one.
//
// # Users file format
//
// One user per line, fields separated by spaces or tabs:
//
//	NAME PASSWORD BACKEND [PROTOCOLS]
//
// where:
//
//   - NAME is the login name as the client types it (compared exactly,
//     case-sensitively).
//   - PASSWORD is the plaintext password, or a hash of it in one of
//     Dovecot's forms, so a Dovecot passwd-file's hashes work:
//     {BLF-CRYPT}$2y$… (bcrypt; a bare $2a$/$2b$/$2y$ hash too),
//     {SHA512-CRYPT}$6$… and {SHA256-CRYPT}$5$… (SHA-crypt; bare $6$ and
//     $5$ too), {CRYPT} with any of those; `mailproxy-auth hash` makes
//     one. A hash only checks a password sent in clear (PLAIN, LOGIN,
//     USER/PASS): CRAM-MD5, APOP and EXTERNAL need the plaintext (the
//     service returns it as Auth-Pass for those methods) and are refused
//     for a hashed user. A plaintext password that starts with "{" or "$"
//     is written {PLAIN}….
//   - BACKEND is the backend's IP:PORT; an IPv6 address is written in
//     brackets, e.g. [2001:db8::5]:143. Host names are not allowed (nginx
//     accepts only IP literals in Auth-Server) unless the service runs
//     with Options.BackendNames (mailproxy's proxy_resolve): NAME:PORT.
//     Port 0 and zones are refused. Several backends separated by commas
//     are replicas: the first is answered, and a failover request
//     (Auth-Failed-Server, mailproxy's proxy_next_upstream_tries) gets the
//     one after the backend that failed.
//   - PROTOCOLS, optional, is a comma-separated list of imap, pop3, smtp
//     and sieve (case-insensitive). Without it the line applies to imap,
//     pop3 and smtp; a ManageSieve backend must be named with "sieve".
//
// NAME and PASSWORD are percent-decoded (%XX, upper- or lower-case hex; "+"
// stays a plus), so they can hold spaces or a leading "#": "john%20doe".
// A literal "%" must therefore be written "%25". Decoded values must not
// contain control characters (bytes below 0x20 or 0x7F).
//
// Blank lines are ignored. A field that starts with "#" begins a comment
// that runs to the end of the line; a "#" inside a field is literal.
//
// A user may appear on several lines to get a different backend per
// protocol. Lines with a PROTOCOLS field take precedence over the user's
// line without one, which supplies the backend for the remaining protocols.
// Every line of a user must give the same password; two lines without
// PROTOCOLS, or two lines naming the same protocol, are errors.
//
// The name "*" (RelayName) is the relay fallback for method none; see
// Service. Its password field is ignored but must be present.
//
// A line whose first field starts with "token:" gives an OAuth 2.0 bearer
// token (XOAUTH2, OAUTHBEARER) instead of a user:
//
//	token:TOKEN NAME [forward]
//
// TOKEN (percent-decoded like a password) logs in as NAME, a user of the
// file, with NAME's backends; the user a client names in its message
// must be NAME. By default the answer carries NAME's password as
// Auth-Pass, so the proxy logs in to the backend as with a password;
// with "forward" it carries Auth-Backend-Method instead, so the proxy
// logs in with the client's mechanism and token, for a backend that
// checks tokens itself (Dovecot's oauth2 passdb). A token appears once.
//
// Example:
//
//	# name    password  backend          protocols
//	alice     secret    10.0.0.5:143     imap
//	alice     secret    10.0.0.5:110     pop3
//	alice     secret    10.0.0.6:25      smtp
//	alice     secret    10.0.0.5:4190    sieve
//	bob       hunter2   [2001:db8::7]:143
//	*         -         10.0.0.6:25      smtp
//	token:ya29.a0Af-alice  alice
//	token:ya29.a0Af-bob    bob   forward
type Users struct {
	byName map[string]*account
	tokens map[string]*bearer
	names  bool // NAME:PORT backends allowed (Options.BackendNames)
}

// account is one user with a backend per protocol.
type account struct {
	password stored
	pwLine   int
	backends map[string]netip.AddrPort
	// routes are every backend of a protocol in order: the first is
	// answered, the next ones to failover requests (Auth-Failed-Server).
	routes map[string][]route
	// explicit records, per protocol, the line that named it explicitly;
	// defLine is the line without a protocol field (0 if none).
	explicit map[string]int
	defLine  int
}

// Len reports the number of distinct user names, the relay entry included.
func (u *Users) Len() int {
	if u == nil {
		return 0
	}
	return len(u.byName)
}

// get returns the account of name, or nil.
func (u *Users) get(name string) *account {
	if u == nil {
		return nil
	}
	return u.byName[name]
}

// LoadUsers reads and parses the users file at path. Errors name the file
// and line.
func LoadUsers(path string) (*Users, error) {
	return loadUsers(path, false)
}

func loadUsers(path string, names bool) (*Users, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("authservice: %w", err)
	}
	defer f.Close()
	return parseUsers(f, path, names)
}

// ParseUsers parses a users file (format: see Users) from r. name is used
// in error messages ("name:LINE: ..."). All errors found are reported,
// joined with errors.Join; no Users is returned if there is any.
func ParseUsers(r io.Reader, name string) (*Users, error) {
	return parseUsers(r, name, false)
}

// ParseUsersWithNames is ParseUsers with NAME:PORT backends allowed
// (Options.BackendNames).
func ParseUsersWithNames(r io.Reader, name string) (*Users, error) {
	return parseUsers(r, name, true)
}

func parseUsers(r io.Reader, name string, names bool) (*Users, error) {
	u := &Users{byName: make(map[string]*account), names: names, tokens: make(map[string]*bearer)}
	var errs []error
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for n := 1; sc.Scan(); n++ {
		if err := u.parseLine(sc.Text(), n); err != nil {
			errs = append(errs, fmt.Errorf("authservice: %s:%d: %w", name, n, err))
		}
	}
	if err := sc.Err(); err != nil {
		errs = append(errs, fmt.Errorf("authservice: %s: %w", name, err))
	}
	errs = append(errs, u.checkTokens(name)...)
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return u, nil
}

// parseLine adds the entry of one line (number n) to u.
func (u *Users) parseLine(line string, n int) error {
	fields := strings.Fields(line)
	for i, f := range fields {
		if strings.HasPrefix(f, "#") {
			fields = fields[:i]
			break
		}
	}
	switch {
	case len(fields) == 0:
		return nil
	case strings.HasPrefix(fields[0], tokenPrefix):
		return u.parseToken(fields, n)
	case len(fields) < 3:
		return fmt.Errorf("want NAME PASSWORD BACKEND [PROTOCOLS], got %d field(s)", len(fields))
	case len(fields) > 4:
		return fmt.Errorf("want NAME PASSWORD BACKEND [PROTOCOLS], got %d fields", len(fields))
	}
	name, err := decodeField(fields[0])
	if err != nil {
		return fmt.Errorf("name: %w", err)
	}
	field, err := decodeField(fields[1])
	if err != nil {
		return fmt.Errorf("password of %q: %w", name, err)
	}
	password, err := parseStored(field)
	if err != nil {
		return fmt.Errorf("password of %q: %w", name, err)
	}
	var rs []route
	for _, item := range strings.Split(fields[2], ",") {
		r, err := parseRoute(item, u.names)
		if err != nil {
			return err
		}
		rs = append(rs, r)
	}
	backend := rs[0].addr
	var protos []string
	if len(fields) == 4 {
		if protos, err = parseProtocols(fields[3]); err != nil {
			return err
		}
	}

	a := u.byName[name]
	if a == nil {
		a = &account{
			password: password,
			pwLine:   n,
			backends: make(map[string]netip.AddrPort),
			routes:   make(map[string][]route),
			explicit: make(map[string]int),
		}
		u.byName[name] = a
	} else if a.password.text != password.text && name != RelayName {
		return fmt.Errorf("user %q: password differs from line %d", name, a.pwLine)
	}

	if protos == nil {
		if a.defLine != 0 {
			return fmt.Errorf("user %q: second line without protocols (first on line %d)", name, a.defLine)
		}
		a.defLine = n
		for _, p := range defaultProtocols {
			if _, ok := a.explicit[p]; !ok {
				a.setRoutes(p, backend, rs)
			}
		}
		return nil
	}
	for _, p := range protos {
		if prev, ok := a.explicit[p]; ok {
			return fmt.Errorf("user %q: protocol %s already given on line %d", name, p, prev)
		}
		a.explicit[p] = n
		a.setRoutes(p, backend, rs)
	}
	return nil
}

// setRoutes records the backends of protocol p: rs, and first when it is
// an address.
func (a *account) setRoutes(p string, first netip.AddrPort, rs []route) {
	a.routes[p] = rs
	if first.IsValid() {
		a.backends[p] = first
	} else {
		delete(a.backends, p)
	}
}

// route is one backend of a users file line: an address, or with
// Options.BackendNames a host name, and a port.
type route struct {
	addr netip.AddrPort // valid for an address
	host string         // Auth-Server: the address (no brackets) or the name
	port uint16
}

// String is the backend as mailproxy names it in Auth-Failed-Server:
// Auth-Server ":" Auth-Port.
func (r route) String() string { return r.host + ":" + strconv.Itoa(int(r.port)) }

// parseRoute parses one backend: IP:PORT, [IPv6]:PORT, or NAME:PORT
// when names are allowed.
func parseRoute(s string, names bool) (route, error) {
	ap, err := parseBackend(s)
	if err == nil {
		return route{addr: ap, host: ap.Addr().String(), port: ap.Port()}, nil
	}
	if !names {
		return route{}, err
	}
	i := strings.LastIndexByte(s, ':')
	if i < 0 || !hostName(s[:i]) {
		return route{}, fmt.Errorf("backend %q: want IP:PORT, [IPv6]:PORT or NAME:PORT", s)
	}
	port, perr := strconv.ParseUint(s[i+1:], 10, 16)
	if perr != nil || port == 0 {
		return route{}, fmt.Errorf("backend %q: bad port", s)
	}
	return route{host: strings.ToLower(s[:i]), port: uint16(port)}, nil
}

// hostName reports whether s is dot-separated labels of letters, digits
// and '-'.
func hostName(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for _, l := range strings.Split(s, ".") {
		if l == "" || len(l) > 63 {
			return false
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// parseBackend parses an IP:PORT field.
func parseBackend(s string) (netip.AddrPort, error) {
	ap, err := netip.ParseAddrPort(s)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("backend %q: want IP:PORT or [IPv6]:PORT", s)
	}
	if ap.Port() == 0 {
		return netip.AddrPort{}, fmt.Errorf("backend %q: port 0", s)
	}
	if ap.Addr().Zone() != "" {
		return netip.AddrPort{}, fmt.Errorf("backend %q: zones are not supported", s)
	}
	return ap, nil
}

// parseProtocols parses a comma-separated protocol list.
func parseProtocols(s string) ([]string, error) {
	var out []string
	seen := make(map[string]bool)
	for _, p := range strings.Split(s, ",") {
		p = strings.ToLower(p)
		if !isProtocol(p) {
			return nil, fmt.Errorf("protocol %q: want imap, pop3, smtp or sieve", p)
		}
		if seen[p] {
			return nil, fmt.Errorf("protocol %s listed twice", p)
		}
		seen[p] = true
		out = append(out, p)
	}
	return out, nil
}

// isProtocol reports whether p is one of Protocols.
func isProtocol(p string) bool {
	for _, q := range Protocols {
		if p == q {
			return true
		}
	}
	return false
}

// decodeField percent-decodes a NAME or PASSWORD field strictly: a "%" must
// start a valid %XX sequence, and the result must not hold control bytes.
func decodeField(s string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '%' {
			if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
				return "", errors.New(`"%" not followed by two hex digits (write "%25" for a literal "%")`)
			}
			c = unhex(s[i+1])<<4 | unhex(s[i+2])
			i += 2
		}
		if c < 0x20 || c == 0x7f {
			return "", fmt.Errorf("control character 0x%02X", c)
		}
		b.WriteByte(c)
	}
	return b.String(), nil
}
