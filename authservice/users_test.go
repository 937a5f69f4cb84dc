package authservice

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const goodUsers = `# test users
alice   secret   10.0.0.5:143   imap    # trailing comment
alice   secret   10.0.0.5:110   POP3
alice   secret   10.0.0.6:25
bob     hunter2  [2001:db8::7]:143
john%20doe  p%25ss+x  127.0.0.1:1143  imap,pop3
pa#ss   a#b      127.0.0.1:1

*       -        10.0.0.9:25    smtp
`

func mustParse(t *testing.T, text string) *Users {
	t.Helper()
	u, err := ParseUsers(strings.NewReader(text), "users")
	if err != nil {
		t.Fatalf("ParseUsers: %v", err)
	}
	return u
}

func TestParseUsers(t *testing.T) {
	u := mustParse(t, goodUsers)
	if got := u.Len(); got != 5 {
		t.Errorf("Len = %d, want 5", got)
	}
	tests := []struct {
		name, proto, password, backend string
	}{
		{"alice", "imap", "secret", "10.0.0.5:143"},
		{"alice", "pop3", "secret", "10.0.0.5:110"},
		{"alice", "smtp", "secret", "10.0.0.6:25"}, // from the line without protocols
		{"bob", "imap", "hunter2", "[2001:db8::7]:143"},
		{"bob", "smtp", "hunter2", "[2001:db8::7]:143"},
		{"john doe", "pop3", "p%ss+x", "127.0.0.1:1143"},
		{"pa#ss", "imap", "a#b", "127.0.0.1:1"},
		{"*", "smtp", "-", "10.0.0.9:25"},
	}
	for _, tt := range tests {
		a := u.get(tt.name)
		if a == nil {
			t.Errorf("%s: not found", tt.name)
			continue
		}
		b, ok := a.backends[tt.proto]
		if !ok || a.password.plain != tt.password || b != netip.MustParseAddrPort(tt.backend) {
			t.Errorf("%s/%s = %q %v %v, want %q %s", tt.name, tt.proto, a.password.plain, b, ok, tt.password, tt.backend)
		}
	}
	if _, ok := u.get("john doe").backends["smtp"]; ok {
		t.Error("john doe has an smtp backend, want none")
	}
}

// The line without protocols may come after the explicit ones or before.
func TestParseUsersDefaultLineOrder(t *testing.T) {
	u := mustParse(t, "a p 10.0.0.1:25\na p 10.0.0.2:143 imap\n")
	if got := u.get("a").backends["imap"]; got != netip.MustParseAddrPort("10.0.0.2:143") {
		t.Errorf("imap backend = %v, want the explicit one", got)
	}
	if got := u.get("a").backends["pop3"]; got != netip.MustParseAddrPort("10.0.0.1:25") {
		t.Errorf("pop3 backend = %v, want the default one", got)
	}
}

// A sieve backend comes only from a line naming sieve: the line without
// protocols covers imap, pop3 and smtp.
func TestParseUsersSieve(t *testing.T) {
	u := mustParse(t, "a p 10.0.0.1:143\na p 10.0.0.2:4190 SIEVE\nb q 10.0.0.3:143\n")
	if got := u.get("a").backends["sieve"]; got != netip.MustParseAddrPort("10.0.0.2:4190") {
		t.Errorf("sieve backend of a = %v, want 10.0.0.2:4190", got)
	}
	if got := u.get("a").backends["imap"]; got != netip.MustParseAddrPort("10.0.0.1:143") {
		t.Errorf("imap backend of a = %v, want the default line's", got)
	}
	if got, ok := u.get("b").backends["sieve"]; ok {
		t.Errorf("b has sieve backend %v from its line without protocols, want none", got)
	}
}

func TestParseUsersErrors(t *testing.T) {
	tests := []struct {
		name, text, want string
	}{
		{"too few", "# c\nalice secret\n", "users:2: want NAME PASSWORD BACKEND [PROTOCOLS], got 2 field(s)"},
		{"too many", "alice secret 1.2.3.4:5 imap extra\n", "users:1: want NAME PASSWORD BACKEND [PROTOCOLS], got 5 fields"},
		{"host name", "\nalice secret mail.example.com:143\n", `users:2: backend "mail.example.com:143": want IP:PORT`},
		{"no port", "alice secret 10.0.0.1\n", `users:1: backend "10.0.0.1"`},
		{"ipv6 without brackets", "alice secret 2001:db8::1:143\n", `users:1: backend "2001:db8::1:143"`},
		{"port zero", "alice secret 10.0.0.1:0\n", `users:1: backend "10.0.0.1:0": port 0`},
		{"port range", "alice secret 10.0.0.1:65536\n", `users:1: backend "10.0.0.1:65536"`},
		{"zone", "alice secret [fe80::1%eth0]:143\n", "zones are not supported"},
		{"protocol", "alice secret 10.0.0.1:143 imap,http\n", `users:1: protocol "http": want imap, pop3, smtp or sieve`},
		{"protocol twice in list", "alice secret 10.0.0.1:143 imap,IMAP\n", "users:1: protocol imap listed twice"},
		{"protocol twice", "a p 1.1.1.1:1 imap\n#\na p 1.1.1.1:2 smtp,imap\n", `users:3: user "a": protocol imap already given on line 1`},
		{"two defaults", "a p 1.1.1.1:1\na p 1.1.1.1:2\n", `users:2: user "a": second line without protocols (first on line 1)`},
		{"password differs", "a p 1.1.1.1:1 imap\na q 1.1.1.1:2 pop3\n", `users:2: user "a": password differs from line 1`},
		{"bad percent", "a%2 p 1.1.1.1:1\n", `users:1: name: "%" not followed by two hex digits`},
		{"bad percent in password", "a p%zz 1.1.1.1:1\n", `users:1: password of "a": "%" not followed`},
		{"control", "a p%0D%0Ax 1.1.1.1:1\n", `users:1: password of "a": control character 0x0D`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := ParseUsers(strings.NewReader(tt.text), "users")
			if err == nil {
				t.Fatalf("no error, got %d users", u.Len())
			}
			if u != nil {
				t.Error("Users returned with an error")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q\nwant it to contain %q", err, tt.want)
			}
		})
	}
}

func TestParseUsersReportsAllErrors(t *testing.T) {
	_, err := ParseUsers(strings.NewReader("a\nok p 1.1.1.1:1\nb p host:1\n"), "f")
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"f:1:", "f:3:"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "f:2:") {
		t.Errorf("error %q names the good line 2", err)
	}
}

func TestLoadUsers(t *testing.T) {
	path := filepath.Join(t.TempDir(), "users")
	if err := os.WriteFile(path, []byte("a p 1.1.1.1:1\nb\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := LoadUsers(path)
	if err == nil || !strings.Contains(err.Error(), path+":2:") {
		t.Errorf("LoadUsers error = %v, want one naming %s:2", err, path)
	}
	if _, err := LoadUsers(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("LoadUsers of a missing file: no error")
	}
}

func TestParseUsersReplicasAndNames(t *testing.T) {
	u, err := ParseUsers(strings.NewReader("a p 10.0.0.1:143,[2001:db8::1]:143 imap\n"), "users")
	if err != nil {
		t.Fatal(err)
	}
	rs := u.get("a").routes["imap"]
	if len(rs) != 2 || rs[0].String() != "10.0.0.1:143" || rs[1].String() != "2001:db8::1:143" || u.get("a").backends["imap"] != netip.MustParseAddrPort("10.0.0.1:143") {
		t.Errorf("routes %v", rs)
	}
	if _, err := ParseUsers(strings.NewReader("a p imap.test:143\n"), "users"); err == nil {
		t.Error("a name accepted without names")
	}
	n, err := ParseUsersWithNames(strings.NewReader("a p imap.test:143,10.0.0.1:143 imap\nb p bad_name:1\nc p x.test:0\n"), "users")
	if err == nil || !strings.Contains(err.Error(), `users:2: backend "bad_name:1"`) || !strings.Contains(err.Error(), `users:3: backend "x.test:0": bad port`) {
		t.Errorf("bad names: %v", err)
	}
	_ = n
	n, err = ParseUsersWithNames(strings.NewReader("a p imap.test:143,10.0.0.1:143 imap\n"), "users")
	if err != nil || n.get("a").routes["imap"][0].String() != "imap.test:143" {
		t.Errorf("names: %v", err)
	}
	for failed, want := range map[string]string{"": "imap.test:143", "imap.test:143": "10.0.0.1:143", "192.0.2.9:1": "imap.test:143", "10.0.0.1:143": "-"} {
		r, ok := next(n.get("a").routes["imap"], failed)
		got := r.String()
		if !ok {
			got = "-"
		}
		if got != want {
			t.Errorf("after %q: %s, want %s", failed, got, want)
		}
	}
}
