package bench

import (
	"bufio"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// TestAuthServiceFailures sends the auth service good and wrong
// passwords, one request per connection and kept alive, and checks its
// exact answers and its counts per Client-IP.
func TestAuthServiceFailures(t *testing.T) {
	a, err := startAuth(map[string]string{"imap": "127.0.0.1:1143"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	req := func(client, pass string, keep bool) string {
		r := "GET /auth HTTP/1.0\r\nHost: localhost\r\nAuth-Method: plain\r\nAuth-User: u\r\nAuth-Pass: " + pass +
			"\r\nAuth-Protocol: imap\r\nAuth-Login-Attempt: 1\r\nClient-IP: " + client + "\r\n"
		if keep {
			r += "Connection: keep-alive\r\n"
		}
		return r + "\r\n"
	}
	ok := "HTTP/1.0 200 OK\r\nAuth-Status: OK\r\nAuth-Server: 127.0.0.1\r\nAuth-Port: 1143\r\n\r\n"
	failed := "HTTP/1.0 200 OK\r\nAuth-Status: Invalid login or password\r\n\r\n"
	for _, c := range []struct{ client, pass, want string }{
		{"127.2.0.1", "wrong", failed},
		{"127.2.0.1", "wrong", failed},
		{"127.1.0.9", "bench", ok},
		{"127.2.0.2", "wrongish", ok},
	} {
		conn, err := net.Dial("tcp", a.Addr())
		if err != nil {
			t.Fatal(err)
		}
		conn.SetDeadline(time.Now().Add(5 * time.Second))
		io.WriteString(conn, req(c.client, c.pass, false))
		got, err := io.ReadAll(conn) // one request: the service closes
		conn.Close()
		if err != nil || string(got) != c.want {
			t.Errorf("password %q: %q, %v, want %q", c.pass, got, err, c.want)
		}
	}
	// Kept alive: two failures and a success on one connection.
	conn, err := net.Dial("tcp", a.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	r := bufio.NewReader(conn)
	for _, c := range []struct{ pass, want string }{
		{"wrong", "HTTP/1.1 200 OK\r\nAuth-Status: Invalid login or password\r\nContent-Length: 0\r\n\r\n"},
		{"wrong", "HTTP/1.1 200 OK\r\nAuth-Status: Invalid login or password\r\nContent-Length: 0\r\n\r\n"},
		{"bench", "HTTP/1.1 200 OK\r\nAuth-Status: OK\r\nAuth-Server: 127.0.0.1\r\nAuth-Port: 1143\r\nContent-Length: 0\r\n\r\n"},
	} {
		io.WriteString(conn, req("127.2.0.3", c.pass, true))
		var got strings.Builder
		for !strings.HasSuffix(got.String(), "\r\n\r\n") {
			line, err := r.ReadString('\n')
			if err != nil {
				t.Fatalf("kept alive, password %q: %q, %v", c.pass, got.String(), err)
			}
			got.WriteString(line)
		}
		if got.String() != c.want {
			t.Errorf("kept alive, password %q: %q, want %q", c.pass, got.String(), c.want)
		}
	}
	total, by := a.counts()
	want := map[string]int64{"127.2.0.1": 2, "127.1.0.9": 1, "127.2.0.2": 1, "127.2.0.3": 3}
	if total != 7 || len(by) != len(want) {
		t.Fatalf("counts %d %v, want 7 %v", total, by, want)
	}
	for k, v := range want {
		if by[k] != v {
			t.Errorf("%s: %d requests counted, want %d", k, by[k], v)
		}
	}
	by["127.2.0.1"] = 100 // a copy
	if _, again := a.counts(); again["127.2.0.1"] != 2 {
		t.Error("counts returned the service's own map")
	}
}
