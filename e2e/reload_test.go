package e2e

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"mailproxy/internal/mailtest"
)

// fetchLoop logs in once and FETCHes msg over and over until stop, checking
// every byte; it reports the number of complete fetches or the first error.
func fetchLoop(t *testing.T, addr string, msg []byte, stop <-chan struct{}) (int, error) {
	c, r := login(t, addr)
	defer c.Close()
	io.WriteString(c, "s SELECT INBOX\r\n")
	for {
		l, err := r.ReadString('\n')
		if err != nil {
			return 0, err
		}
		if strings.HasPrefix(l, "s ") {
			break
		}
	}
	n := 0
	for i := 0; ; i++ {
		select {
		case <-stop:
			return n, nil
		default:
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		fmt.Fprintf(c, "f%d FETCH 1 BODY.PEEK[]\r\n", i)
		head, err := r.ReadString('\n')
		if err != nil {
			return n, fmt.Errorf("fetch %d: %v", i, err)
		}
		var size int
		fmt.Sscanf(head[strings.LastIndexByte(head, '{'):], "{%d}", &size)
		body := make([]byte, size)
		if _, err := io.ReadFull(r, body); err != nil || !bytes.Equal(body, msg) {
			return n, fmt.Errorf("fetch %d: message damaged (%v)", i, err)
		}
		for {
			l, err := r.ReadString('\n')
			if err != nil {
				return n, err
			}
			if strings.HasPrefix(l, fmt.Sprintf("f%d ", i)) {
				break
			}
		}
		n++
	}
}

// TestReloadUnderLoad reloads the configuration ten times while clients
// log in continuously and spliced sessions transfer data: no login fails,
// no session is cut, every byte arrives. Then SIGQUIT with sessions still
// open: they finish, and the process exits 0.
func TestReloadUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("load test")
	}
	be, err := mailtest.StartIMAPBackend("127.0.0.1:0", map[string]string{"alice": "secret"}, false)
	if err != nil {
		t.Fatal(err)
	}
	defer be.Close()
	msg := mailtest.SizedMessage("alice", 256<<10)
	if _, err := be.Append("alice", msg); err != nil {
		t.Fatal(err)
	}
	listen, auth := freePort(t), authOK(t, be.Addr())
	file := filepath.Join(t.TempDir(), "mailproxy.yaml")
	write := func(gen int) {
		y := imapConfig(listen, auth) + fmt.Sprintf("    imap_capabilities: [IMAP4rev1, GEN%d]\n", gen)
		if err := os.WriteFile(file, []byte(y), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(0)
	p := startBinaryFile(t, file)

	stop := make(chan struct{})
	var logins, loginFailures atomic.Int64
	var quitting atomic.Bool
	var wg sync.WaitGroup
	var errs []error
	var mu sync.Mutex
	for i := 0; i < 3; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				late := quitting.Load()
				fail := func() {
					if !late {
						loginFailures.Add(1)
					}
				}
				c, err := net.DialTimeout("tcp", listen, 2*time.Second)
				if err != nil {
					fail()
					time.Sleep(10 * time.Millisecond)
					continue
				}
				c.SetDeadline(time.Now().Add(5 * time.Second))
				r := bufio.NewReader(c)
				r.ReadString('\n')
				io.WriteString(c, "a LOGIN alice secret\r\nb LOGOUT\r\n")
				ok := false
				for {
					l, err := r.ReadString('\n')
					if err != nil {
						break
					}
					if strings.HasPrefix(l, "a OK") {
						ok = true
					}
				}
				c.Close()
				if ok {
					logins.Add(1)
				} else {
					fail()
				}
			}
		}()
	}
	fetches := make(chan int, 3)
	for i := 0; i < 3; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n, err := fetchLoop(t, listen, msg, stop)
			if err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
			fetches <- n
		}()
	}
	for gen := 1; gen <= 10; gen++ {
		time.Sleep(150 * time.Millisecond)
		write(gen)
		p.cmd.Process.Signal(syscall.SIGHUP)
	}
	time.Sleep(300 * time.Millisecond)
	if got := strings.Count(p.stderr.String(), "configuration reloaded"); got != 10 {
		t.Fatalf("%d reloads logged, want 10:\n%s", got, p.stderr.String())
	}
	// A new connection gets the last configuration.
	c, err := net.Dial("tcp", listen)
	if err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(c)
	readLine(t, c, r)
	io.WriteString(c, "c CAPABILITY\r\n")
	if l := readLine(t, c, r); !strings.Contains(l, "GEN10") {
		t.Fatalf("capabilities after the reloads: %q", l)
	}
	c.Close()

	// Graceful stop while the spliced sessions are still transferring.
	quitting.Store(true)
	p.cmd.Process.Signal(syscall.SIGQUIT)
	time.Sleep(300 * time.Millisecond)
	close(stop)
	wg.Wait()
	close(fetches)
	total := 0
	for n := range fetches {
		total += n
	}
	if len(errs) > 0 {
		t.Fatalf("spliced sessions broke: %v", errs)
	}
	if n := loginFailures.Load(); n > 0 {
		t.Fatalf("%d logins failed during the reloads", n)
	}
	t.Logf("%d logins and %d complete 256 KiB fetches across 10 reloads", logins.Load(), total)
	if logins.Load() == 0 || total == 0 {
		t.Fatal("no traffic went through")
	}
	p.waitExit(t, 10*time.Second, "after its sessions ended")
}
