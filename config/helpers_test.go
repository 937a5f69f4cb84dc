package config

import (
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mailproxy/authhttp"
	"mailproxy/internal/pkitest"
)

// TestMain pins the host name so that the default server_name is known.
func TestMain(m *testing.M) {
	hostname = func() (string, error) { return "MailHost.Example.ORG", nil }
	os.Exit(m.Run())
}

// y joins lines with newlines, so that line N of the file is argument N.
func y(lines ...string) string {
	return strings.Join(lines, "\n") + "\n"
}

// fixtures holds certificate files made for one test and substitutes
// their paths for the placeholders CERT, KEY, CERT2, KEY2, GARBAGE and
// MISSING in configuration texts and expected messages.
type fixtures struct {
	dir string
	r   *strings.Replacer
	m   map[string]string
}

func newFixtures(t testing.TB) *fixtures {
	t.Helper()
	dir := t.TempDir()
	cert, key := writeCert(t, dir, "one")
	cert2, key2 := writeCert(t, dir, "two")
	garbage := filepath.Join(dir, "garbage.pem")
	if err := os.WriteFile(garbage, []byte("not a certificate\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	m := map[string]string{
		"CERT2": cert2, "KEY2": key2, "CERT": cert, "KEY": key,
		"GARBAGE": garbage, "MISSING": filepath.Join(dir, "missing.pem"),
	}
	// Longer names first, so CERT2 is not read as CERT + "2".
	return &fixtures{dir: dir, m: m, r: strings.NewReplacer(
		"CERT2", cert2, "KEY2", key2, "CERT", cert, "KEY", key,
		"GARBAGE", garbage, "MISSING", m["MISSING"])}
}

func (f *fixtures) sub(s string) string { return f.r.Replace(s) }

// writeCert writes a self-signed ECDSA server certificate for name and
// its PKCS#8 key into dir as name.crt and name.key and returns the two
// paths.
func writeCert(t testing.TB, dir, name string) (certFile, keyFile string) {
	t.Helper()
	c := pkitest.SelfSigned(t, pkitest.Spec{Subject: pkix.Name{CommonName: name}, DNSNames: []string{name}, Server: true})
	certFile, keyFile, err := c.WriteFiles(dir, name+".crt", name+".key")
	if err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

// mustParse parses text as test.yaml and fails the test on any error.
func mustParse(t *testing.T, text string) *Config {
	t.Helper()
	cfg, err := Parse("test.yaml", []byte(text))
	if err != nil {
		t.Fatalf("Parse failed:\n%v\ninput:\n%s", err, numbered(text))
	}
	if cfg.File != "test.yaml" {
		t.Errorf("File = %q", cfg.File)
	}
	return cfg
}

// problems parses text as test.yaml, requires an *Error and returns its
// lines.
func problems(t *testing.T, text string) []string {
	t.Helper()
	cfg, err := Parse("test.yaml", []byte(text))
	if err == nil {
		t.Fatalf("Parse succeeded with %d servers, want an error; input:\n%s", len(cfg.Servers), numbered(text))
	}
	if cfg != nil {
		t.Errorf("Parse returned a config together with an error")
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error is %T, want *Error: %v", err, err)
	}
	var out []string
	for _, p := range e.Problems {
		out = append(out, p.Error())
	}
	if got := strings.Join(out, "\n"); got != err.Error() {
		t.Errorf("Error() = %q, want the problems joined by newlines %q", err.Error(), got)
	}
	return out
}

// numbered prefixes each line of text with its number, for failure output.
func numbered(text string) string {
	var b strings.Builder
	for i, l := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		fmt.Fprintf(&b, "%3d | %s\n", i+1, l)
	}
	return b.String()
}

// indent prefixes every line of text with n spaces.
func indent(text string, n int) string {
	if text == "" {
		return ""
	}
	pad := strings.Repeat(" ", n)
	return pad + strings.ReplaceAll(strings.TrimSuffix(text, "\n"), "\n", "\n"+pad) + "\n"
}

// defaultServer is the server that `listen: [143]` on line `line` with
// auth_http 127.0.0.1:9000 resolves to: every nginx default.
func defaultServer(line int) Server {
	return Server{
		Line:              line,
		Protocol:          "imap",
		Listen:            []Listen{{Address: ":143", Line: line}},
		ServerName:        "mailhost.example.org",
		Timeout:           60 * time.Second,
		MaxErrors:         5,
		AuthHTTP:          authURL("127.0.0.1:9000"),
		AuthHTTPTimeout:   60 * time.Second,
		ProxyBuffer:       4096,
		ProxyTimeout:      24 * time.Hour,
		SSLProtocols:      []string{"TLSv1.2", "TLSv1.3"},
		IMAPAuth:          []string{"plain"},
		IMAPCapabilities:  []string{"IMAP4", "IMAP4rev1", "UIDPLUS"},
		IMAPClientBuffer:  4096,
		POP3Auth:          []string{"plain"},
		POP3Capabilities:  []string{"TOP", "USER", "UIDL"},
		SieveAuth:         []string{"plain"},
		SieveClientBuffer: 4096,
		SMTPAuth:          []string{"plain", "login"},
		SMTPCapabilities:  []string{},
		SMTPClientBuffer:  4096,
		XClient:           true,
		ResolverIPv4:      true,
		ResolverIPv6:      true,
		ResolverTimeout:   30 * time.Second,
		LimitConnLogLevel: "error",
		MaxCommands:       1000,
	}
}

// authURL is authhttp.ParseURL for a URL the test knows to be good.
func authURL(raw string) authhttp.URL {
	u, err := authhttp.ParseURL(raw)
	if err != nil {
		panic(err)
	}
	return u
}

func prefixes(ss ...string) []netip.Prefix {
	out := []netip.Prefix{}
	for _, s := range ss {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}
