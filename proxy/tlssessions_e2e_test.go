package proxy_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mailproxy/internal/kvstore/kvstoretest"
	"mailproxy/internal/mailtest"
	"mailproxy/internal/pkitest"
)

// sessionYAML is an implicit-TLS IMAP server with tickets off; @EXTRA@
// adds the session keys under test.
const sessionYAML = `
servers:
  - protocol: imap
    auth_http: http://AUTH/auth
    ssl_certificate: @CRT@
    ssl_certificate_key: @PEMKEY@
    ssl_session_tickets: off
    ssl_session_ticket_key: @TICKETS@
@EXTRA@
    listen: [{address: "127.0.0.1:0", ssl: true}]
`

// sessionFiles writes one certificate, key and ticket key file that
// several proxies (instances) share.
func sessionFiles(t *testing.T) *strings.Replacer {
	dir := t.TempDir()
	c := pkitest.SelfSigned(t, pkitest.Spec{Server: true, DNSNames: []string{"mail.example"}})
	return strings.NewReplacer(
		"@CRT@", pkitest.Write(t, dir, "c.pem", c.CertPEM),
		"@PEMKEY@", pkitest.Write(t, dir, "k.pem", c.KeyPEM),
		"@TICKETS@", pkitest.Write(t, dir, "t.key", bytes.Repeat([]byte{'s'}, 80)))
}

// opensslSession runs openssl s_client against addr, reading its session
// from in (when not "") and saving the new one to out, until the IMAP
// greeting; it returns s_client's output.
func opensslSession(t *testing.T, addr, in, out string, extra ...string) string {
	t.Helper()
	args := append([]string{"s_client", "-connect", addr, "-servername", "mail.example", "-ign_eof", "-sess_out", out}, extra...)
	if in != "" {
		args = append(args, "-sess_in", in)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "openssl", args...)
	cmd.Stdin = strings.NewReader("a LOGOUT\r\n")
	b, err := cmd.CombinedOutput()
	if !strings.Contains(string(b), "* OK") {
		t.Fatalf("openssl %v: %v\n%s", args, err, b)
	}
	return string(b)
}

// reused reports whether s_client's output says the session was reused.
func reused(out string) bool {
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "Reused, ") {
			return true
		}
		if strings.HasPrefix(l, "New, ") {
			return false
		}
	}
	return false
}

// TestOpenSSLResumesFromCache: with ssl_session_tickets off and
// ssl_session_cache shared, OpenSSL's s_client resumes its session
// (TLS 1.2 and 1.3) — "Reused", as against nginx; with no cache it does
// not.
func TestOpenSSLResumesFromCache(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Fatalf("openssl is needed: %v", err)
	}
	auth := startAuth(t, failAuth)
	files := sessionFiles(t)
	for _, tc := range []struct {
		extra  string
		resume bool
	}{
		{"    ssl_session_cache: shared:SSL:1m", true},
		{"    ssl_session_cache: builtin:100", true},
		{"    ssl_session_cache: none", false},
	} {
		_, addrs := startProxy(t, files.Replace(strings.Replace(sessionYAML, "@EXTRA@", tc.extra, 1)), auth.addr())
		for _, v := range []string{"-tls1_2", "-tls1_3"} {
			sess := filepath.Join(t.TempDir(), "sess.pem")
			if out := opensslSession(t, addrs[0], "", sess, v); reused(out) {
				t.Fatalf("%s %s: first session reused", tc.extra, v)
			}
			if _, err := os.Stat(sess); err != nil && !tc.resume {
				t.Logf("%s %s: no session saved", tc.extra, v)
				continue // nothing resumable was offered: s_client saved no session
			}
			out := opensslSession(t, addrs[0], sess, sess, v)
			if reused(out) != tc.resume {
				t.Fatalf("%s %s: reused %v, want %v:\n%s", tc.extra, v, reused(out), tc.resume, out)
			}
		}
	}
}

// TestOpenSSLResumesAcrossInstances: two proxies (two instances, the same
// files) sharing a real redis-server: a session s_client got from one
// resumes on the other.
func TestOpenSSLResumesAcrossInstances(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Fatalf("openssl is needed: %v", err)
	}
	redis := kvstoretest.Real(t)
	auth := startAuth(t, failAuth)
	text := sessionFiles(t).Replace(strings.Replace(sessionYAML, "@EXTRA@", "    ssl_session_store: "+redis.URL, 1))
	_, a := startProxy(t, text, auth.addr())
	_, b := startProxy(t, text, auth.addr())
	for _, v := range []string{"-tls1_2", "-tls1_3"} {
		sess := filepath.Join(t.TempDir(), "sess.pem")
		opensslSession(t, a[0], "", sess, v)
		if out := opensslSession(t, b[0], sess, sess, v); !reused(out) {
			t.Fatalf("%s: instance b did not resume instance a's session:\n%s", v, out)
		}
		if out := opensslSession(t, a[0], sess, sess, v); !reused(out) {
			t.Fatalf("%s: instance a did not resume instance b's session:\n%s", v, out)
		}
	}
}

// TestSessionStoreDownWarns: with the store stopped, clients get full
// handshakes and the log one rate-limited warning.
func TestSessionStoreDownWarns(t *testing.T) {
	redis := kvstoretest.Real(t)
	auth := startAuth(t, failAuth)
	text := sessionFiles(t).Replace(strings.Replace(sessionYAML, "@EXTRA@", "    ssl_session_store: "+redis.URL, 1))
	log := &mailtest.SyncBuffer{}
	_, addrs := startProxyLog(t, text, auth.addr(), log)
	redis.Stop()
	for i := range 3 {
		cli := &tls.Config{InsecureSkipVerify: true, ServerName: "mail.example", ClientSessionCache: tls.NewLRUClientSessionCache(4)}
		for range 2 {
			c, err := tls.Dial("tcp", addrs[0], cli)
			must(t, err)
			c.SetDeadline(deadline())
			buf := make([]byte, 64)
			n, err := c.Read(buf)
			c.Close()
			if err != nil || !strings.HasPrefix(string(buf[:n]), "* OK") || c.ConnectionState().DidResume {
				t.Fatalf("client %d: greeting %q %v, resumed %v", i, buf[:n], err, c.ConnectionState().DidResume)
			}
		}
	}
	if n := strings.Count(log.String(), "TLS session store failed"); n != 1 {
		t.Fatalf("%d warnings, want 1:\n%s", n, log.String())
	}
	if !strings.Contains(log.String(), fmt.Sprintf("store=%s", redis.URL)) {
		t.Fatalf("the warning does not name the store:\n%s", log.String())
	}
}
