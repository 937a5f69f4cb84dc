//go:build linux

package evloop

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"
)

// relayEnd is what a relay's end function was told.
type relayEnd struct {
	dir    int
	err    error
	ab, ba int64
	at     time.Time
}

// relayPair is a relay between a client and a backend, both plain Go
// connections on the test's side.
type relayPair struct {
	client  net.Conn // the test's client, relayed to backend
	backend net.Conn // the backend's side of the relayed connection
	relay   chan *Relay
	loopB   chan *Conn // the loop's side of the backend connection
	ends    chan relayEnd
}

// startRelayPair accepts a client on l, dials a backend from its task and
// relays between them. before, if set, runs in the task before the relay
// starts (with the client connection).
func startRelayPair(t *testing.T, l *Loop, idle time.Duration, before func(c *Conn)) *relayPair {
	t.Helper()
	bl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bl.Close() })
	p := &relayPair{relay: make(chan *Relay, 1), loopB: make(chan *Conn, 1), ends: make(chan relayEnd, 1)}
	addr := listenOwned(t, l, func(ctx context.Context, c *Conn) {
		b, err := Dial(ctx, &net.Dialer{}, "tcp", bl.Addr().String())
		if err != nil {
			t.Error(err)
			c.Close()
			return
		}
		if before != nil {
			before(c)
		}
		var r *Relay
		r, err = StartRelay(c, b.(*Conn), idle, func(dir int, err error) {
			e := relayEnd{dir: dir, err: err, at: time.Now()}
			e.ab, e.ba = r.Moved()
			c.Close()
			b.Close()
			p.ends <- e
		})
		if err != nil {
			t.Error(err)
			c.Close()
			b.Close()
			return
		}
		p.relay <- r
		p.loopB <- b.(*Conn)
	})
	p.client, err = net.Dial("tcp", addr.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.client.Close() })
	bl.(*net.TCPListener).SetDeadline(time.Now().Add(5 * time.Second))
	p.backend, err = bl.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.backend.Close() })
	return p
}

// end waits for the relay's end.
func (p *relayPair) end(t *testing.T) relayEnd {
	t.Helper()
	select {
	case e := <-p.ends:
		return e
	case <-time.After(10 * time.Second):
		t.Fatal("the relay did not end")
	}
	return relayEnd{}
}

func readN(t *testing.T, c net.Conn, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadFull(c, b); err != nil {
		t.Fatal(err)
	}
	return b
}

// TestRelaySmallMessages: messages both ways, then the client's end of
// stream ends the relay (direction 0, no error) with the bytes counted,
// and the backend sees its connection closed.
func TestRelaySmallMessages(t *testing.T) {
	p := startRelayPair(t, newLoop(t), 0, nil)
	for i := 0; i < 20; i++ {
		p.client.Write([]byte("a1 NOOP\r\n"))
		if got := readN(t, p.backend, 9); string(got) != "a1 NOOP\r\n" {
			t.Fatalf("backend got %q", got)
		}
		p.backend.Write([]byte("a1 OK\r\n"))
		if got := readN(t, p.client, 7); string(got) != "a1 OK\r\n" {
			t.Fatalf("client got %q", got)
		}
	}
	p.client.Close()
	e := p.end(t)
	if e.dir != 0 || e.err != nil || e.ab != 20*9 || e.ba != 20*7 {
		t.Fatalf("end %+v, want direction 0, no error, 180 and 140 bytes", e)
	}
	p.backend.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := p.backend.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("backend read %d, %v after the end; want EOF", n, err)
	}
}

// TestRelayBytesBeforeStart: bytes queued before the relay starts (the
// task read only part of them) are relayed without a new report.
func TestRelayBytesBeforeStart(t *testing.T) {
	l := newLoop(t)
	got := make(chan byte, 1)
	p := startRelayPair(t, l, 0, func(c *Conn) {
		var b [1]byte
		c.Read(b[:])
		got <- b[0]
	})
	p.client.Write([]byte("xearly\r\n"))
	if b := <-got; b != 'x' {
		t.Fatalf("task read %q", b)
	}
	if b := readN(t, p.backend, 7); string(b) != "early\r\n" {
		t.Fatalf("backend got %q", b)
	}
}

// TestRelayStreamToSlowReader: a stream bigger than every socket buffer,
// to a client that waits before reading, arrives whole and in order; the
// backend's end of stream ends the relay after the last byte is
// delivered, and the stream went through a pipe (kept by the loop).
func TestRelayStreamToSlowReader(t *testing.T) {
	l := newLoop(t)
	p := startRelayPair(t, l, 0, nil)
	const size = 24 << 20
	data := make([]byte, size)
	for i := range data {
		data[i] = byte(i * 7 / 13)
	}
	go func() {
		p.backend.Write(data)
		p.backend.Close()
	}()
	time.Sleep(200 * time.Millisecond) // the client's buffers fill up
	got := readN(t, p.client, size)
	if !bytes.Equal(got, data) {
		t.Fatal("stream changed in transit")
	}
	e := p.end(t)
	if e.dir != 1 || e.err != nil || e.ba != size {
		t.Fatalf("end %+v, want direction 1, no error, %d bytes", e, size)
	}
	pipes := make(chan int)
	l.Post(func() { pipes <- len(l.pipes) })
	if n := <-pipes; n == 0 {
		t.Fatal("no pipe came back to the loop: the stream was not spliced")
	}
}

// TestRelayIdle: the client's silence ends the relay after idle; the
// backend's data does not count as activity, the client's does.
func TestRelayIdle(t *testing.T) {
	const idle = 300 * time.Millisecond
	p := startRelayPair(t, newLoop(t), idle, nil)
	var last time.Time
	for i := 0; i < 4; i++ {
		last = time.Now()
		p.client.Write([]byte("x"))
		readN(t, p.backend, 1)
		time.Sleep(idle / 3)
	}
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(idle / 5):
				p.backend.Write([]byte("y"))
			}
		}
	}()
	e := p.end(t)
	if e.dir != 0 || !errors.Is(e.err, ErrIdle) {
		t.Fatalf("end %+v, want direction 0, ErrIdle", e)
	}
	if e.at.Before(last.Add(idle)) {
		t.Fatalf("ended %v after the client's last data, before the idle time %v", e.at.Sub(last), idle)
	}
}

// TestRelayClose: Close from another goroutine ends the relay (direction
// -1) and only once.
func TestRelayClose(t *testing.T) {
	p := startRelayPair(t, newLoop(t), 0, nil)
	r := <-p.relay
	go r.Close()
	r.Close()
	e := p.end(t)
	if e.dir != -1 || !errors.Is(e.err, net.ErrClosed) {
		t.Fatalf("end %+v, want direction -1, net.ErrClosed", e)
	}
	select {
	case e := <-p.ends:
		t.Fatalf("a second end: %+v", e)
	case <-time.After(100 * time.Millisecond):
	}
}

// TestRelaySocketClosed: a socket closed by another goroutine (not by
// Relay.Close) ends the relay with net.ErrClosed, on that socket's side.
func TestRelaySocketClosed(t *testing.T) {
	p := startRelayPair(t, newLoop(t), 0, nil)
	b := <-p.loopB
	go b.Close()
	e := p.end(t)
	if e.dir != 1 || !errors.Is(e.err, net.ErrClosed) {
		t.Fatalf("end %+v, want direction 1, net.ErrClosed", e)
	}
}

// TestRelayPanic: a panic in a relay ends that relay (direction -1, a
// PanicError with its stack) and the loop goes on serving others.
func TestRelayPanic(t *testing.T) {
	var once atomic.Bool
	// Set before the loop starts, cleared after it has stopped.
	testHookPump = func() {
		if once.CompareAndSwap(false, true) {
			panic("boom")
		}
	}
	t.Cleanup(func() { testHookPump = nil })
	l := newLoop(t)
	p := startRelayPair(t, l, 0, nil)
	p.client.Write([]byte("x"))
	e := p.end(t)
	var pe *PanicError
	if e.dir != -1 || !errors.As(e.err, &pe) || pe.Value != "boom" || !bytes.Contains(pe.Stack, []byte("pump")) {
		t.Fatalf("end %+v, want direction -1 and the panic with its stack", e)
	}
	q := startRelayPair(t, l, 0, nil)
	q.client.Write([]byte("after\r\n"))
	if b := readN(t, q.backend, 7); string(b) != "after\r\n" {
		t.Fatalf("the loop's next relay got %q", b)
	}
}
