package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"mailproxy/authhttp"
)

// TestAuthHTTPCheckMatchesClient: `mailproxy -t` accepts an auth_http
// value exactly when the auth client can be made from it, and says why
// not with the client's reason at the key's line. Host names are left
// out but localhost: the client resolves them.
func TestAuthHTTPCheckMatchesClient(t *testing.T) {
	file := filepath.Join(t.TempDir(), "mailproxy.yaml")
	for _, raw := range []string{
		"127.0.0.1:9000/auth", "http://127.0.0.1", "127.0.0.1?x=1", "1..2.3", "localhost:9000",
		"[::1]:9000/auth", "http://[::1]/x", "unix:/run/auth.sock", "UNIX:/s:", "unix:/x:uri",
		"HTTP://[::1]/x", "HTTP://127.0.0.1/auth", "https://127.0.0.1/auth", "ftp://x",
		"::1:80", "[::1", "[::1]x", "[]:80", "127.0.0.1:0", "127.0.0.1:x", "ho$t", "a b",
		"unix:", "unix:/" + strings.Repeat("a", 107),
	} {
		yml := "mail:\n  auth_http: '" + raw + "'\nservers:\n  - {listen: [\"127.0.0.1:0\"], protocol: imap}\n"
		if err := os.WriteFile(file, []byte(yml), 0o644); err != nil {
			t.Fatal(err)
		}
		var out, errb bytes.Buffer
		code := run([]string{"-t", "-c", file}, &out, &errb)

		u, err := authhttp.ParseURL(raw)
		if err == nil {
			_, err = authhttp.NewClient(u, 0, nil)
		}
		if err == nil {
			if code != exitOK {
				t.Errorf("%q: the client takes it, -t exits %d: %s", raw, code, errb.String())
			}
			continue
		}
		var ue *authhttp.URLError
		if !errors.As(err, &ue) {
			t.Fatalf("%q: client error %T %v", raw, err, err)
		}
		want := file + `:2: auth_http: invalid URL "` + raw + `": ` + ue.Reason + "\n"
		if code != exitConfig || errb.String() != want {
			t.Errorf("%q: the client refuses it (%v); -t exits %d: %q, want %q", raw, err, code, errb.String(), want)
		}
	}
}
