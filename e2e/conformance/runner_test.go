package conformance

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// fakeEnv returns an Env whose binary is this test binary acting as the
// fake proxy of fakeproxy_test.go.
func fakeEnv(t *testing.T) Env {
	t.Helper()
	fakeOnce.Do(func() {
		dir, err := os.MkdirTemp("", "conformance-fake-")
		if err != nil {
			fakeErr = err
			return
		}
		fakeDir = dir
		self, err := os.Executable()
		if err != nil {
			fakeErr = err
			return
		}
		fakeEnvVal.Binary = filepath.Join(dir, "fake-mailproxy")
		script := fmt.Sprintf("#!/bin/sh\nCONFORMANCE_FAKE_PROXY=1 exec '%s' \"$@\"\n", self)
		if fakeErr = os.WriteFile(fakeEnvVal.Binary, []byte(script), 0o755); fakeErr != nil {
			return
		}
		fakeEnvVal.Cert, fakeEnvVal.Key, fakeErr = WriteTestCert(dir)
	})
	if fakeErr != nil {
		t.Fatal(fakeErr)
	}
	e := fakeEnvVal
	e.WorkDir = t.TempDir()
	return e
}

var (
	fakeOnce   sync.Once
	fakeEnvVal Env
	fakeErr    error
	fakeDir    string // removed by TestMain
)

const fakeHeader = `name fake
flag none
config "listen ${LISTEN};"
config "protocol imap;"
config "server_name mx.example.com;"
config "auth_http ${AUTH}/auth;"
config "ssl_certificate ${CERT};"
config "ssl_certificate_key ${KEY};"
`

const fakeAuthOK = `auth-expect "GET /auth HTTP/1.0\r\n"
    "Host: 127.0.0.1\r\n"
    "Auth-Method: plain\r\n"
    "Auth-User: u\r\n"
    "Auth-Pass: p\r\n"
    "Auth-Protocol: imap\r\n"
    "Auth-Login-Attempt: 1\r\n"
    "Client-IP: 127.0.0.1\r\n"
    "\r\n"
auth-reply gap=0.1 "HTTP/1.0 200 OK\r\nAuth-Sta" "tus: OK\r\n"
    "Auth-Server: 127.0.0.1\r\n"
    "Auth-Port: ${BACKEND_PORT}\r\n"
    "\r\n"
`

// runnerCases are self-test cases for the fake proxy: the body of the
// case (after fakeHeader) and "" when it must pass, or a substring of the
// expected failure.
var runnerCases = map[string]struct{ body, fail string }{
	"login-splice-logout": {`
client-expect "* OK IMAP4 ready\r\n"
client-send "a NOOP\r\n"
client-expect "a OK completed\r\n"
client-send "b LOGIN u p\r\n"
` + fakeAuthOK + `
backend-send "* OK backend\r\n"
backend-expect "b LOGIN u p\r\n"
backend-send "b OK welcome\r\n"
client-expect "b OK welcome\r\n"
client-send "c LOGOUT\r\n"
backend-expect "c LOGOUT\r\n"
backend-send "* BYE\r\nc OK\r\n"
backend-close
client-expect "* BYE\r\n"
    "c OK\r\n"
client-closed
`, ""},
	"starttls-salt-silence-authfail": {`
client-expect "* OK IMAP4 ready\r\n"
client-send "a STARTTLS\r\n"
client-expect "a OK completed\r\n"
client-starttls
client-send "b SALT\r\n"
client-expect "+ ${SALT_B64}\r\n"
client-send "x\r\n"
client-expect "b NO salt\r\n"
client-send "c SLOW\r\n"
client-silence 0.5
client-expect "c OK slow\r\n"
client-send "d LOGIN u p\r\n"
auth-expect "GET /auth HTTP/1.0\r\n"
    "Host: 127.0.0.1\r\n"
    "Auth-Method: plain\r\n"
    "Auth-User: u\r\n"
    "Auth-Pass: p\r\n"
    "Auth-Protocol: imap\r\n"
    "Auth-Login-Attempt: 1\r\n"
    "Client-IP: 127.0.0.1\r\n"
    "Auth-Salt: ${SALT}\r\n"
    "Auth-SSL: on\r\n"
    "Auth-SSL-Protocol: ${TLS_PROTOCOL}\r\n"
    "Auth-SSL-Cipher: ${TLS_CIPHER}\r\n"
    "\r\n"
auth-reply delay=0.2 "HTTP/1.0 200 OK\r\nAuth-Status: Invalid login\r\n\r\n"
client-expect "d NO Invalid login\r\n"
client-sleep 0.1
client-send "e LOGOUT\r\n"
client-expect "* BYE\r\ne OK\r\n"
client-closed 1
`, ""},
	"wrong-greeting": {`
client-expect "* OK other\r\n"
`, `client-expect (line 10): want "* OK other\r\n" got "* OK IMAP4 r"`},
	"trailing-data": {`
client-expect "* OK IMAP4 ready\r\n"
client-send "a EXTRA\r\n"
client-expect "a OK\r\n"
`, "unexpected trailing client data"},
	"auth-mismatch": {`
client-expect "* OK IMAP4 ready\r\n"
client-send "a LOGIN v p\r\n"
auth-expect "GET /auth HTTP/1.0\r\nAuth-User: u\r\n\r\n"
auth-reply "HTTP/1.0 200 OK\r\nAuth-Status: No\r\n\r\n"
client-expect "a NO No\r\n"
`, "auth-expect #1"},
	"auth-count": {`
client-expect "* OK IMAP4 ready\r\n"
auth-reply "HTTP/1.0 200 OK\r\nAuth-Status: No\r\n\r\n"
`, "auth requests: want 1 got 0"},
	"auth-extra-connection": {`
client-expect "* OK IMAP4 ready\r\n"
client-send "a LOGIN u p\r\n"
client-expect "a NO \r\n"
`, "auth requests: want 0 got 1"},
	"backend-never-connected": {`
client-expect "* OK IMAP4 ready\r\n"
client-send "a LOGIN u p\r\n"
auth-reply "HTTP/1.0 200 OK\r\nAuth-Status: No\r\n\r\n"
backend-send "* OK backend\r\n"
client-expect "a NO No\r\n"
`, "backend script did not finish (connections: 0)"},
	"backend-unexpected-connection": {`
client-expect "* OK IMAP4 ready\r\n"
client-send "b LOGIN u p\r\n"
` + fakeAuthOK + `
client-closed
`, "backend: unexpected connection"},
	"backend-extra-bytes": {`
client-expect "* OK IMAP4 ready\r\n"
client-send "b LOGIN u p\r\n"
` + fakeAuthOK + `
backend-send "* OK backend\r\n"
backend-expect "b LOGIN u p\r\n"
backend-send "b OK welcome\r\n"
client-expect "b OK welcome\r\n"
client-send "c NOOP\r\n"
client-sleep 0.2
`, `backend received unexpected bytes: "c NOOP\r\n"`},
	"backend-expect-mismatch": {`
client-expect "* OK IMAP4 ready\r\n"
client-send "b LOGIN u p\r\n"
` + fakeAuthOK + `
backend-send "* OK backend\r\n"
backend-expect "b LOGIN u q\r\n"
backend-close
client-closed
`, `backend-expect (line 27): want "b LOGIN u q\r\n" got "b LOGIN u p\r\n"`},
	"silence-broken": {`
client-expect "* OK IMAP4 ready\r\n"
client-send "a NOOP\r\n"
client-silence 0.3
`, `client-silence 0.3 (line 12): data "a OK completed\r\n"`},
	"closed-still-open": {`
client-expect "* OK IMAP4 ready\r\n"
client-closed 0.3
`, "client-closed 0.3 (line 11): still open"},
	"closed-ok": {`
client-expect "* OK IMAP4 ready\r\n"
client-send "a LOGOUT\r\n"
client-expect "* BYE\r\na OK\r\n"
client-closed 0.5
`, ""},
	"no-start": {`
config "listen 10.255.255.1:1;"
`, "fake: bad listen address"},
}

// TestRunnerWithFakeProxy runs the runner end to end against the fake
// proxy and checks both verdicts and failure messages.
func TestRunnerWithFakeProxy(t *testing.T) {
	for name, tc := range runnerCases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			text := fakeHeader + tc.body
			if name == "no-start" {
				text = strings.Replace(fakeHeader, `config "listen ${LISTEN};"`+"\n", "", 1) + tc.body
			}
			c, err := Parse(name, []byte(text))
			if err != nil {
				t.Fatal(err)
			}
			res := Run(c, fakeEnv(t))
			all := strings.Join(res.Failures, "\n") + "\n" + res.Stderr
			switch {
			case tc.fail == "" && !res.Passed():
				t.Errorf("want pass, got:\n%s\nstderr:\n%s", strings.Join(res.Failures, "\n"), res.Stderr)
			case tc.fail != "" && res.Passed():
				t.Errorf("want failure %q, got pass", tc.fail)
			case tc.fail != "" && !strings.Contains(all, tc.fail):
				t.Errorf("want failure %q, got:\n%s", tc.fail, all)
			}
		})
	}
}
