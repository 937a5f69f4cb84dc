package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mailproxy/authservice"
	"mailproxy/internal/mailtest"
)

func TestParseFlags(t *testing.T) {
	c, err := parseFlags([]string{"-users", "u"}, new(bytes.Buffer))
	if err != nil {
		t.Fatal(err)
	}
	o := c.opts
	if c.listen != "127.0.0.1:9000" || o.SecretHeader != "X-Auth-Key" || o.Wait != 3 || o.MaxAttempts != 5 || o.AllowRelay || o.Secret != "" {
		t.Errorf("defaults: %+v %+v", c, o)
	}
	c, err = parseFlags([]string{"-users", "u", "-wait", "0", "-allow-relay", "-secret", "s", "-secret-header", "X-K"}, new(bytes.Buffer))
	if err != nil {
		t.Fatal(err)
	}
	if c.opts.Wait >= 0 || !c.opts.AllowRelay || c.opts.Secret != "s" || c.opts.SecretHeader != "X-K" {
		t.Errorf("parsed: %+v", c.opts)
	}
	for _, args := range [][]string{
		{},
		{"-users", "u", "extra"},
		{"-users", "u", "-wait", "-1"},
		{"-users", "u", "-max-attempts", "0"},
		{"-users", "u", "-bogus"},
	} {
		var out bytes.Buffer
		_, err := parseFlags(args, &out)
		if !errors.As(err, new(usageError)) {
			t.Errorf("%q: err = %v, want a usage error", args, err)
		}
		if !strings.Contains(out.String(), "usage: mailproxy-auth -users FILE") || !strings.Contains(out.String(), "mailproxy-auth hash") {
			t.Errorf("%q: no usage printed: %q", args, out.String())
		}
	}
	if _, err := parseFlags([]string{"-h"}, new(bytes.Buffer)); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("-h: err = %v", err)
	}
}

func TestRun(t *testing.T) {
	dir := t.TempDir()
	users := filepath.Join(dir, "users")
	if err := os.WriteFile(users, []byte("alice secret 10.0.0.1:143\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var logs mailtest.SyncBuffer
	hup := make(chan os.Signal, 1)
	ready := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-listen", "127.0.0.1:0", "-users", users, "-secret", "k"}, &logs, hup, ready)
	}()
	var addr net.Addr
	select {
	case addr = <-ready:
	case err := <-done:
		t.Fatalf("run: %v", err)
	}

	ask := func(user, pass string) http.Header {
		t.Helper()
		req, _ := http.NewRequest("GET", "http://"+addr.String()+"/auth", nil)
		for k, v := range map[string]string{
			"Auth-Method": "plain", "Auth-User": user, "Auth-Pass": pass, "Auth-Protocol": "imap",
			"Auth-Login-Attempt": "1", "Client-IP": "192.0.2.1", "X-Auth-Key": "k",
		} {
			req.Header.Set(k, v)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.Header
	}
	if h := ask("alice", "secret"); h.Get("Auth-Status") != "OK" || h.Get("Auth-Server") != "10.0.0.1" {
		t.Errorf("first answer: %v", h)
	}

	if err := os.WriteFile(users, []byte("alice changed 10.0.0.2:143\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	hup <- os.Interrupt // any value means "reload"
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(logs.String(), "users reloaded") {
		if time.Now().After(deadline) {
			t.Fatalf("no reload logged:\n%s", logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if h := ask("alice", "changed"); h.Get("Auth-Status") != "OK" || h.Get("Auth-Server") != "10.0.0.2" {
		t.Errorf("answer after reload: %v", h)
	}

	cancel()
	if err := <-done; err != nil {
		t.Errorf("run after cancel: %v", err)
	}
	out := logs.String()
	if n := strings.Count(out, "auth request"); n != 2 {
		t.Errorf("%d request log lines, want 2:\n%s", n, out)
	}
	if strings.Contains(out, "secret ") || strings.Contains(out, "changed") {
		t.Errorf("log shows a password:\n%s", out)
	}
}

func TestRunBadUsersFile(t *testing.T) {
	users := filepath.Join(t.TempDir(), "users")
	if err := os.WriteFile(users, []byte("alice\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	err := run(context.Background(), []string{"-listen", "127.0.0.1:0", "-users", users}, new(bytes.Buffer), nil, nil)
	if err == nil || !strings.Contains(err.Error(), users+":1:") {
		t.Errorf("run = %v, want an error naming %s:1", err, users)
	}
}

// TestHashCommand: `mailproxy-auth hash` prints a users-file field that
// the service checks; a SHA-crypt one is what crypt(3) (openssl passwd)
// computes for its salt.
func TestHashCommand(t *testing.T) {
	for _, c := range []struct {
		args   []string
		prefix string
	}{
		{nil, "{BLF-CRYPT}$2y$10$"},
		{[]string{"-scheme", "BLF-CRYPT", "-cost", "5"}, "{BLF-CRYPT}$2y$05$"},
		{[]string{"-scheme", "SHA512-CRYPT"}, "{SHA512-CRYPT}$6$"},
		{[]string{"-scheme", "sha256-crypt", "-rounds", "7000"}, "{SHA256-CRYPT}$5$rounds=7000$"},
	} {
		var out, errb bytes.Buffer
		if err := hashCommand(c.args, strings.NewReader("pass word\r\nignored\n"), &out, &errb); err != nil {
			t.Fatalf("%v: %v %s", c.args, err, errb.String())
		}
		field := strings.TrimSuffix(out.String(), "\n")
		if !strings.HasPrefix(field, c.prefix) || strings.Count(out.String(), "\n") != 1 {
			t.Errorf("%v: %q", c.args, out.String())
		}
		users, err := authservice.ParseUsers(strings.NewReader("u "+field+" 10.0.0.1:143\n"), "users")
		if err != nil {
			t.Fatalf("%v: %v", c.args, err)
		}
		svc, _ := authservice.New(authservice.Options{Users: users})
		for pw, want := range map[string]string{"pass word": "OK", "pass word\r": "Invalid login or password"} {
			r := httptest.NewRequest("GET", "/auth", nil)
			for k, v := range map[string]string{"Auth-Method": "plain", "Auth-User": "u", "Auth-Pass": pw, "Auth-Protocol": "imap", "Auth-Login-Attempt": "1", "Client-IP": "192.0.2.1"} {
				r.Header.Set(k, v)
			}
			w := httptest.NewRecorder()
			svc.ServeHTTP(w, r)
			if got := w.Result().Header.Get("Auth-Status"); got != want {
				t.Errorf("%v, password %q: %s, want %s", c.args, pw, got, want)
			}
		}
		if hash, ok := strings.CutPrefix(field, "{SHA512-CRYPT}"); ok {
			i := strings.LastIndexByte(hash, '$')
			want, err := exec.Command("openssl", "passwd", "-6", "-salt", hash[3:i], "pass word").Output()
			if err != nil || strings.TrimSpace(string(want)) != hash {
				t.Errorf("openssl passwd gives %q (%v) for %q", want, err, hash)
			}
		}
	}
	for _, c := range []struct {
		args  []string
		stdin string
		want  string
	}{
		{nil, "", "no password on stdin"},
		{[]string{"-scheme", "MD5"}, "x\n", `scheme "MD5"`},
		{[]string{"-rounds", "5"}, "x\n", ""},
		{[]string{"-scheme", "SHA512-CRYPT", "-rounds", "5"}, "x\n", "rounds 5"},
		{[]string{"extra"}, "x\n", "unexpected argument"},
	} {
		var out, errb bytes.Buffer
		err := hashCommand(c.args, strings.NewReader(c.stdin), &out, &errb)
		if c.want == "" {
			if err != nil {
				t.Errorf("%v: %v", c.args, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error()+errb.String(), c.want) {
			t.Errorf("%v: %v %q, want %q", c.args, err, errb.String(), c.want)
		}
	}
	var out, errb bytes.Buffer
	if err := hashCommand([]string{"-h"}, strings.NewReader(""), &out, &errb); !errors.Is(err, flag.ErrHelp) || !strings.Contains(errb.String(), "read -rs PW") {
		t.Errorf("-h: %v %q", err, errb.String())
	}
}

func TestSecretFile(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "secret")
	os.WriteFile(f, []byte("s3cret\r\nignored\n"), 0o600)
	c, err := parseFlags([]string{"-users", "u", "-secret-file", f}, new(bytes.Buffer))
	if err != nil || c.opts.Secret != "s3cret" {
		t.Fatalf("%+v %v", c, err)
	}
	empty := filepath.Join(dir, "empty")
	os.WriteFile(empty, []byte("\nx\n"), 0o600)
	for args, want := range map[string]string{
		"-secret x -secret-file " + f:      "cannot both be given",
		"-secret-file " + empty:            "no secret on its first line",
		"-secret-file " + dir + "/missing": "no such file",
	} {
		var out bytes.Buffer
		_, err := parseFlags(append([]string{"-users", "u"}, strings.Fields(args)...), &out)
		if err == nil || !strings.Contains(err.Error()+out.String(), want) {
			t.Errorf("%s: %v %q, want %q", args, err, out.String(), want)
		}
	}
}
