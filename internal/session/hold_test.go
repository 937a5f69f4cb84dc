package session

import (
	"context"
	"errors"
	"io"
	"net"
	"testing"
	"time"
)

// tcpPair returns both ends of a loopback TCP connection.
func tcpPair(t *testing.T) (server, client net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server, err = ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { server.Close(); client.Close() })
	return server, client
}

// TestHoldKeepsPendingBytes: bytes a client sends during the delay are
// left for the front end, which can read them afterwards (the read
// deadline Hold used is cleared).
func TestHoldKeepsPendingBytes(t *testing.T) {
	server, client := tcpPair(t)
	io.WriteString(client, "a NOOP\r\n")
	if err := Hold(context.Background(), server, 50*time.Millisecond); err != nil {
		t.Fatalf("Hold: %v", err)
	}
	buf := make([]byte, 8)
	if _, err := io.ReadFull(server, buf); err != nil || string(buf) != "a NOOP\r\n" {
		t.Fatalf("read after Hold: %q %v", buf, err)
	}
}

// TestHoldEndsWhenClientLeaves: a client that closes its connection, even
// with bytes still unread, ends an endless delay at once.
func TestHoldEndsWhenClientLeaves(t *testing.T) {
	server, client := tcpPair(t)
	io.WriteString(client, "a NOOP\r\n")
	go func() { time.Sleep(50 * time.Millisecond); client.Close() }()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := Hold(ctx, server, time.Duration(1<<62)); !errors.Is(err, ErrClientGone) {
		t.Fatalf("Hold: %v, want ErrClientGone", err)
	}
}

// TestHoldEndsWithContext: the server's shutdown ends a delay.
func TestHoldEndsWithContext(t *testing.T) {
	server, _ := tcpPair(t)
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(50 * time.Millisecond); cancel() }()
	if err := Hold(ctx, server, time.Duration(1<<62)); !errors.Is(err, context.Canceled) {
		t.Fatalf("Hold: %v, want context.Canceled", err)
	}
}

// TestHoldWithoutSocket: a connection that is not a socket is simply
// waited on.
func TestHoldWithoutSocket(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	if err := Hold(context.Background(), a, 10*time.Millisecond); err != nil {
		t.Fatalf("Hold: %v", err)
	}
}
