package mailtest

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// maxSieveLine bounds a ManageSieve command line; literals are read
// separately, up to maxSieveScript octets.
const (
	maxSieveLine   = 4096
	maxSieveScript = 1 << 20
)

// SieveBackend is an in-memory ManageSieve server (RFC 5804) for tests and
// the demo: AUTHENTICATE "PLAIN" (initial response as a quoted string or
// a literal), then CAPABILITY, NOOP, LOGOUT, PUTSCRIPT, LISTSCRIPTS,
// SETACTIVE, GETSCRIPT, DELETESCRIPT and HAVESPACE. Scripts are kept per
// user and never checked.
type SieveBackend struct {
	srv   *Server
	mu    sync.Mutex
	users map[string]*sieveUser
}

type sieveUser struct {
	pass    string
	scripts map[string][]byte
	active  string
}

// StartSieveBackend listens on addr (e.g. "127.0.0.1:0") and serves
// ManageSieve there until Close; users maps each user name to its
// password.
func StartSieveBackend(addr string, users map[string]string) (*SieveBackend, error) {
	b := &SieveBackend{users: make(map[string]*sieveUser)}
	for name, pass := range users {
		b.users[name] = &sieveUser{pass: pass, scripts: make(map[string][]byte)}
	}
	srv, err := startLineServer(addr, b.serveConn)
	if err != nil {
		return nil, err
	}
	b.srv = srv
	return b, nil
}

// Addr returns the listening address, "host:port".
func (b *SieveBackend) Addr() string { return b.srv.Addr() }

// Close stops the server and waits until every session has ended.
func (b *SieveBackend) Close() error {
	b.srv.Close()
	return nil
}

// Script returns user's script name and whether it exists.
func (b *SieveBackend) Script(user, name string) ([]byte, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	u := b.users[user]
	if u == nil {
		return nil, false
	}
	s, ok := u.scripts[name]
	return append([]byte(nil), s...), ok
}

const sieveGreeting = "\"IMPLEMENTATION\" \"mailtest\"\r\n\"SASL\" \"PLAIN\"\r\n\"SIEVE\" \"fileinto vacation\"\r\n\"VERSION\" \"1.0\"\r\n"

func (b *SieveBackend) serveConn(c net.Conn) {
	r, w := bufio.NewReaderSize(c, 4096), bufio.NewWriter(c)
	w.WriteString(sieveGreeting + "OK \"mailtest ready\"\r\n")
	var user *sieveUser
	for w.Flush() == nil {
		args, err := readSieveCommand(r)
		if err != nil {
			if errors.Is(err, errLineTooLong) || errors.Is(err, errSieveSyntax) {
				w.WriteString("BYE \"" + err.Error() + "\"\r\n")
				w.Flush()
			}
			return
		}
		if len(args) == 0 {
			w.WriteString("NO \"empty command\"\r\n")
			continue
		}
		verb := strings.ToUpper(args[0])
		if user == nil {
			switch verb {
			case "AUTHENTICATE":
				if user = b.login(args); user == nil {
					w.WriteString("NO \"Authentication failed.\"\r\n")
				} else {
					w.WriteString("OK \"Logged in.\"\r\n")
				}
				continue
			case "CAPABILITY", "NOOP", "LOGOUT":
			default:
				w.WriteString("NO \"Log in first.\"\r\n")
				continue
			}
		}
		if b.command(w, user, verb, args[1:]) {
			w.Flush()
			return
		}
	}
}

// login checks AUTHENTICATE "PLAIN" "base64(authz NUL user NUL pass)".
func (b *SieveBackend) login(args []string) *sieveUser {
	if len(args) != 3 || !strings.EqualFold(args[1], "PLAIN") {
		return nil
	}
	dec, err := base64.StdEncoding.DecodeString(args[2])
	if err != nil {
		return nil
	}
	parts := bytes.Split(dec, []byte{0})
	if len(parts) != 3 {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	u := b.users[string(parts[1])]
	if u == nil || u.pass != string(parts[2]) {
		return nil
	}
	return u
}

// command answers one command of a logged-in session (or CAPABILITY,
// NOOP, LOGOUT before) and reports whether the session ends.
func (b *SieveBackend) command(w *bufio.Writer, u *sieveUser, verb string, args []string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch verb {
	case "CAPABILITY":
		w.WriteString(sieveGreeting + "OK \"Capability completed.\"\r\n")
	case "NOOP":
		w.WriteString("OK \"NOOP completed.\"\r\n")
	case "LOGOUT":
		w.WriteString("OK \"Logout completed.\"\r\n")
		return true
	case "HAVESPACE":
		w.WriteString("OK\r\n")
	case "PUTSCRIPT":
		if len(args) != 2 {
			w.WriteString("NO \"syntax\"\r\n")
			break
		}
		u.scripts[args[0]] = []byte(args[1])
		w.WriteString("OK \"PUTSCRIPT completed.\"\r\n")
	case "LISTSCRIPTS":
		names := make([]string, 0, len(u.scripts))
		for n := range u.scripts {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			w.WriteString(strconv.Quote(n))
			if n == u.active {
				w.WriteString(" ACTIVE")
			}
			w.WriteString("\r\n")
		}
		w.WriteString("OK \"LISTSCRIPTS completed.\"\r\n")
	case "SETACTIVE":
		if len(args) != 1 {
			w.WriteString("NO \"syntax\"\r\n")
		} else if _, ok := u.scripts[args[0]]; !ok && args[0] != "" {
			w.WriteString("NO (NONEXISTENT) \"There is no script by that name.\"\r\n")
		} else {
			u.active = args[0]
			w.WriteString("OK \"SETACTIVE completed.\"\r\n")
		}
	case "GETSCRIPT":
		s, ok := u.scripts[firstArg(args)]
		if !ok {
			w.WriteString("NO (NONEXISTENT) \"There is no script by that name.\"\r\n")
			break
		}
		fmt.Fprintf(w, "{%d}\r\n%s\r\nOK \"GETSCRIPT completed.\"\r\n", len(s), s)
	case "DELETESCRIPT":
		name := firstArg(args)
		switch _, ok := u.scripts[name]; {
		case !ok:
			w.WriteString("NO (NONEXISTENT) \"There is no script by that name.\"\r\n")
		case name == u.active:
			w.WriteString("NO (ACTIVE) \"You may not delete an active script.\"\r\n")
		default:
			delete(u.scripts, name)
			w.WriteString("OK \"DELETESCRIPT completed.\"\r\n")
		}
	default:
		w.WriteString("NO \"Unknown command.\"\r\n")
	}
	return false
}

func firstArg(args []string) string {
	if len(args) == 0 {
		return ""
	}
	return args[0]
}

var errSieveSyntax = errors.New("syntax error")

// readSieveCommand reads one command: atoms, quoted strings and literals
// ({n} or {n+}) separated by spaces, up to CRLF.
func readSieveCommand(r *bufio.Reader) ([]string, error) {
	var args []string
read:
	for {
		line, err := readLine(r, maxSieveLine)
		if err != nil {
			return nil, err
		}
		rest := string(trimEOL(line))
		for rest != "" {
			rest = strings.TrimLeft(rest, " ")
			switch {
			case rest == "":
			case rest[0] == '"':
				s, n, ok := unquoteSieve(rest)
				if !ok {
					return nil, errSieveSyntax
				}
				args, rest = append(args, s), rest[n:]
			case rest[0] == '{':
				end := strings.IndexByte(rest, '}')
				if end != len(rest)-1 {
					return nil, errSieveSyntax
				}
				n, err := strconv.Atoi(strings.TrimSuffix(rest[1:end], "+"))
				if err != nil || n < 0 || n > maxSieveScript {
					return nil, errSieveSyntax
				}
				data := make([]byte, n)
				if _, err := io.ReadFull(r, data); err != nil {
					return nil, err
				}
				args = append(args, string(data))
				continue read // the command goes on after the literal
			default:
				i := strings.IndexByte(rest, ' ')
				if i < 0 {
					i = len(rest)
				}
				args, rest = append(args, rest[:i]), rest[i:]
			}
		}
		return args, nil
	}
}

// unquoteSieve reads a quoted string at the start of s and returns it and
// the number of bytes it took.
func unquoteSieve(s string) (string, int, bool) {
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '"':
			return b.String(), i + 1, true
		case '\\':
			i++
			if i == len(s) {
				return "", 0, false
			}
		}
		b.WriteByte(s[i])
	}
	return "", 0, false
}
