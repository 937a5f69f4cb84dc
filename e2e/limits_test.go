package e2e

import (
	"bufio"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mailproxy/internal/mailtest"
)

// TestDescriptorsCapSessions runs the binary with a descriptor limit of
// 100: 64 are kept for the process and one for the listener, leaving 35,
// of which 2 for refusals: 11 sessions of 3 descriptors before login. The
// twelfth client gets the try-later reply; once the eleven are logged in
// (two descriptors each), a new client is served again.
func TestDescriptorsCapSessions(t *testing.T) {
	be, err := mailtest.StartIMAPBackend("127.0.0.1:0", map[string]string{"alice": "secret"}, true)
	if err != nil {
		t.Fatal(err)
	}
	defer be.Close()
	listen := freePort(t)
	file := filepath.Join(t.TempDir(), "mailproxy.yaml")
	if err := os.WriteFile(file, []byte(imapConfig(listen, authOK(t, be.Addr()))), 0o600); err != nil {
		t.Fatal(err)
	}
	p := start(t, exec.Command("sh", "-c", `ulimit -n 100 && exec "$0" -c "$1" -log-level debug`, binary(t), file))
	if !strings.Contains(p.stderr.String(), `msg="connection limits" max_connections=0 descriptor_limit=100 sessions_by_descriptors=11`) {
		t.Fatalf("stderr:\n%s", p.stderr.String())
	}
	type client struct {
		c net.Conn
		r *bufio.Reader
	}
	greeted := func() client {
		c, err := net.Dial("tcp", listen)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		r := bufio.NewReader(c)
		if l := readLine(t, c, r); l != "* OK IMAP4 ready\r\n" {
			t.Fatalf("greeting %q", l)
		}
		return client{c, r}
	}
	var cs []client
	for range 11 {
		cs = append(cs, greeted())
	}
	c, err := net.Dial("tcp", listen)
	if err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	got, _ := io.ReadAll(c)
	c.Close()
	if string(got) != "* BYE [UNAVAILABLE] Too many connections, try again later\r\n" {
		t.Fatalf("twelfth client: %q", got)
	}
	for _, x := range cs {
		io.WriteString(x.c, "a1 LOGIN alice secret\r\n")
	}
	for _, x := range cs {
		for {
			l := readLine(t, x.c, x.r)
			if strings.HasPrefix(l, "a1 ") {
				if !strings.HasPrefix(l, "a1 OK") {
					t.Fatalf("login: %q", l)
				}
				break
			}
		}
	}
	greeted()
	if !strings.Contains(p.stderr.String(), `msg="connection refused: no descriptors left for another session"`) {
		t.Fatalf("stderr:\n%s", p.stderr.String())
	}
}
