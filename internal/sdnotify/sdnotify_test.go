package sdnotify

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// listen opens a fake systemd notification socket at name (a path, or
// "\x00name" for the abstract namespace) and points $NOTIFY_SOCKET at env.
func listen(t *testing.T, name, env string) *net.UnixConn {
	t.Helper()
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: name, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	t.Setenv(Env, env)
	return c
}

// recv returns the next datagram on c.
func recv(t *testing.T, c *net.UnixConn) string {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	b := make([]byte, 4096)
	n, err := c.Read(b)
	if err != nil {
		t.Fatalf("no datagram: %v", err)
	}
	return string(b[:n])
}

func mustSend(t *testing.T, sent bool, err error) {
	t.Helper()
	if err != nil || !sent {
		t.Fatalf("sent=%v err=%v, want true, nil", sent, err)
	}
}

func TestPathSocket(t *testing.T) {
	path := filepath.Join(t.TempDir(), "notify.sock")
	c := listen(t, path, path)

	sent, err := Ready()
	mustSend(t, sent, err)
	if got := recv(t, c); got != "READY=1" {
		t.Errorf("Ready sent %q", got)
	}

	sent, err = Stopping()
	mustSend(t, sent, err)
	if got := recv(t, c); got != "STOPPING=1" {
		t.Errorf("Stopping sent %q", got)
	}

	sent, err = Status("draining\n3 sessions")
	mustSend(t, sent, err)
	if got := recv(t, c); got != "STATUS=draining 3 sessions" {
		t.Errorf("Status sent %q", got)
	}

	sent, err = Notify("READY=1\nSTATUS=up")
	mustSend(t, sent, err)
	if got := recv(t, c); got != "READY=1\nSTATUS=up" {
		t.Errorf("Notify sent %q", got)
	}
}

func TestReloadingCarriesMonotonicTime(t *testing.T) {
	path := filepath.Join(t.TempDir(), "notify.sock")
	c := listen(t, path, path)

	before, ok := monotonicUsec()
	if !ok {
		t.Fatal("CLOCK_MONOTONIC unreadable")
	}
	sent, err := Reloading()
	mustSend(t, sent, err)
	after, _ := monotonicUsec()

	got := recv(t, c)
	first, second, found := strings.Cut(got, "\n")
	if first != "RELOADING=1" || !found || !strings.HasPrefix(second, "MONOTONIC_USEC=") {
		t.Fatalf("Reloading sent %q", got)
	}
	usec, err := strconv.ParseUint(strings.TrimPrefix(second, "MONOTONIC_USEC="), 10, 64)
	if err != nil {
		t.Fatalf("MONOTONIC_USEC: %v", err)
	}
	if usec < before || usec > after || usec == 0 {
		t.Errorf("MONOTONIC_USEC=%d, want between %d and %d", usec, before, after)
	}
}

func TestMonotonicIsTheSystemClock(t *testing.T) {
	// CLOCK_MONOTONIC counts from boot (less suspended time), so it can
	// never exceed the time since boot that /proc/uptime reports: a value
	// in nanoseconds or from another clock would.
	raw, err := os.ReadFile("/proc/uptime")
	if err != nil {
		t.Skip("no /proc/uptime:", err)
	}
	fields := strings.Fields(string(raw))
	up, err := strconv.ParseFloat(fields[0], 64)
	if err != nil {
		t.Fatal(err)
	}
	usec, _ := monotonicUsec()
	if float64(usec) > (up+1)*1e6 {
		t.Errorf("monotonic %d µs exceeds uptime %.2f s", usec, up)
	}
}

func TestAbstractSocket(t *testing.T) {
	name := fmt.Sprintf("mailproxy-sdnotify-test-%d-%d", os.Getpid(), time.Now().UnixNano())
	c := listen(t, "\x00"+name, "@"+name)

	sent, err := Ready()
	mustSend(t, sent, err)
	if got := recv(t, c); got != "READY=1" {
		t.Errorf("Ready sent %q", got)
	}
}

func TestOutsideSystemd(t *testing.T) {
	t.Setenv(Env, "")
	os.Unsetenv(Env)
	for name, f := range map[string]func() (bool, error){
		"Ready": Ready, "Reloading": Reloading, "Stopping": Stopping,
		"Status": func() (bool, error) { return Status("x") },
	} {
		if sent, err := f(); sent || err != nil {
			t.Errorf("%s outside systemd: sent=%v err=%v, want false, nil", name, sent, err)
		}
	}
}

func TestBadAddresses(t *testing.T) {
	t.Setenv(Env, "relative/notify.sock")
	if sent, err := Ready(); sent || !errors.Is(err, ErrAddress) {
		t.Errorf("relative path: sent=%v err=%v, want ErrAddress", sent, err)
	}
	t.Setenv(Env, "vsock:2:1234")
	if sent, err := Ready(); sent || !errors.Is(err, ErrAddress) {
		t.Errorf("vsock: sent=%v err=%v, want ErrAddress", sent, err)
	}
	// A socket that is gone (systemd restarted, or a stale variable) is
	// reported, never a panic or a hang.
	t.Setenv(Env, filepath.Join(t.TempDir(), "missing.sock"))
	if sent, err := Ready(); sent || err == nil {
		t.Errorf("missing socket: sent=%v err=%v, want an error", sent, err)
	}
}
