//go:build linux

package evloop

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func newLoop(t *testing.T) *Loop {
	t.Helper()
	l, err := New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.Close)
	return l
}

// listen starts an evloop listener on l whose tasks run serve, then close
// the connection.
func listen(t *testing.T, l *Loop, serve func(ctx context.Context, c *Conn)) net.Addr {
	t.Helper()
	return listenOwned(t, l, func(ctx context.Context, c *Conn) {
		defer c.Close()
		serve(ctx, c)
	})
}

// listenOwned starts an evloop listener on l whose tasks run serve, which
// owns the connection (closes it).
func listenOwned(t *testing.T, l *Loop, serve func(ctx context.Context, c *Conn)) net.Addr {
	t.Helper()
	gl, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := NewListener(gl)
	gl.Close()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	errc := make(chan error, 1)
	l.Post(func() {
		_, err := ln.Watch(l, func(c *Conn) {
			l.Go(context.Background(), func(ctx context.Context) {
				c.Adopt(ctx)
				serve(ctx, c)
			})
		}, func(err error) { t.Errorf("accept: %v", err) })
		errc <- err
	})
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	return ln.Addr()
}

// TestEchoManySessions: tasks read lines and answer them while parked on
// EAGAIN, many at a time on one loop.
func TestEchoManySessions(t *testing.T) {
	l := newLoop(t)
	addr := listen(t, l, func(ctx context.Context, c *Conn) {
		if c.LocalAddr().String() != c.LocalAddr().String() || c.RemoteAddr() == nil {
			t.Error("addresses")
		}
		r := bufio.NewReader(c)
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			if _, err := c.Write([]byte("echo " + line)); err != nil {
				return
			}
		}
	})
	const clients = 50
	done := make(chan error, clients)
	for i := 0; i < clients; i++ {
		go func() {
			c, err := net.Dial("tcp", addr.String())
			if err != nil {
				done <- err
				return
			}
			defer c.Close()
			r := bufio.NewReader(c)
			for j := 0; j < 20; j++ {
				if _, err := c.Write([]byte("hello\n")); err != nil {
					done <- err
					return
				}
				line, err := r.ReadString('\n')
				if err != nil || line != "echo hello\n" {
					done <- errors.New("bad echo: " + line)
					return
				}
			}
			done <- nil
		}()
	}
	for i := 0; i < clients; i++ {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}

// TestLargeWriteParks: a write bigger than the socket buffers parks until
// the peer reads, and every byte arrives.
func TestLargeWriteParks(t *testing.T) {
	l := newLoop(t)
	const size = 8 << 20
	addr := listen(t, l, func(ctx context.Context, c *Conn) {
		if n, err := c.Write(make([]byte, size)); err != nil || n != size {
			t.Errorf("write %d %v", n, err)
		}
	})
	c, err := net.Dial("tcp", addr.String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	time.Sleep(50 * time.Millisecond)
	n, err := io.Copy(io.Discard, c)
	if err != nil || n != size {
		t.Fatalf("read %d %v", n, err)
	}
}

// TestReadDeadline: a read past its deadline fails with a timeout that
// net.Error reports, and the task goes on.
func TestReadDeadline(t *testing.T) {
	l := newLoop(t)
	got := make(chan error, 1)
	addr := listen(t, l, func(ctx context.Context, c *Conn) {
		c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		_, err := c.Read(make([]byte, 10))
		got <- err
	})
	c, err := net.Dial("tcp", addr.String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	err = <-got
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("err = %v, want a timeout", err)
	}
}

// TestForeignCloseWakes: Close from another goroutine ends a parked read
// with net.ErrClosed; a foreign SetReadDeadline in the past wakes it too.
func TestForeignCloseWakes(t *testing.T) {
	l := newLoop(t)
	conns := make(chan *Conn, 2)
	got := make(chan error, 2)
	addr := listen(t, l, func(ctx context.Context, c *Conn) {
		conns <- c
		_, err := c.Read(make([]byte, 10))
		got <- err
	})
	for i := 0; i < 2; i++ {
		c, err := net.Dial("tcp", addr.String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
	}
	a, b := <-conns, <-conns
	time.Sleep(20 * time.Millisecond)
	a.Close()
	if err := <-got; !errors.Is(err, net.ErrClosed) {
		t.Fatalf("after Close: %v", err)
	}
	b.SetReadDeadline(time.Unix(1, 0))
	if err := <-got; !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("after a past deadline: %v", err)
	}
}

// TestDialAndBlock: a task dials (non-blocking connect), talks, and runs a
// blocking call in Block while the loop serves another session.
func TestDialAndBlock(t *testing.T) {
	backend, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer backend.Close()
	go func() {
		for {
			c, err := backend.Accept()
			if err != nil {
				return
			}
			c.Write([]byte("hi\n"))
			c.Close()
		}
	}()
	l := newLoop(t)
	release := make(chan struct{})
	var during atomic.Bool
	done := make(chan string, 2)
	l.Post(func() {
		l.Go(context.Background(), func(ctx context.Context) {
			Block(ctx, func() { <-release })
			done <- "blocked"
		})
		l.Go(context.Background(), func(ctx context.Context) {
			dctx, cancel := context.WithTimeout(ctx, time.Second)
			defer cancel()
			c, err := Dial(dctx, &net.Dialer{}, "tcp", backend.Addr().String())
			if err != nil {
				done <- err.Error()
				return
			}
			defer c.Close()
			if _, ok := c.(*Conn); !ok {
				done <- "not a loop connection"
				return
			}
			b, _ := io.ReadAll(c)
			during.Store(true)
			done <- strings.TrimSpace(string(b))
		})
	})
	if s := <-done; s != "hi" {
		t.Fatalf("dialing task: %q", s)
	}
	close(release)
	if s := <-done; s != "blocked" {
		t.Fatalf("blocked task: %q", s)
	}
	if !during.Load() {
		t.Fatal("the loop did not serve while a task was blocked")
	}
}

// TestDialRefused: a refused connect is an error, not a hang.
func TestDialRefused(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	l := newLoop(t)
	got := make(chan error, 1)
	l.Post(func() {
		l.Go(context.Background(), func(ctx context.Context) {
			_, err := Dial(ctx, &net.Dialer{}, "tcp", addr)
			got <- err
		})
	})
	if err := <-got; err == nil || !strings.Contains(err.Error(), "refused") {
		t.Fatalf("err = %v", err)
	}
}

// TestRelease: a released connection is an ordinary net.Conn used from
// another goroutine while its task waits in Block.
func TestRelease(t *testing.T) {
	l := newLoop(t)
	addr := listen(t, l, func(ctx context.Context, c *Conn) {
		c.Write([]byte("before\n"))
		if err := c.Release(); err != nil {
			t.Error(err)
		}
		Block(ctx, func() {
			done := make(chan struct{})
			go func() {
				c.Write([]byte("after\n"))
				close(done)
			}()
			<-done
		})
	})
	c, err := net.Dial("tcp", addr.String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	b, _ := io.ReadAll(c)
	if string(b) != "before\nafter\n" {
		t.Fatalf("got %q", b)
	}
}

// TestTasksReused: tasks that run one after another share one coroutine
// (the loop keeps finished ones): no goroutine is created per task. Each
// job sees its own task and values in its context, and closing the loop
// ends the kept coroutines.
func TestTasksReused(t *testing.T) {
	type jobKey struct{}
	base := runtime.NumGoroutine()
	l, err := New()
	if err != nil {
		t.Fatal(err)
	}
	const jobs = 200
	done := make(chan int, jobs)
	var run func(i int)
	run = func(i int) {
		l.Go(context.WithValue(context.Background(), jobKey{}, i), func(ctx context.Context) {
			if FromContext(ctx) == nil || ctx.Value(jobKey{}) != i {
				t.Errorf("job %d: task %v, value %v", i, FromContext(ctx), ctx.Value(jobKey{}))
			}
			done <- i
			if i+1 < jobs {
				// The next job starts once this one has returned.
				l.Post(func() { run(i + 1) })
			}
		})
	}
	created := func() uint64 {
		s := []metrics.Sample{{Name: "/sched/goroutines-created:goroutines"}}
		metrics.Read(s)
		return s[0].Value.Uint64()
	}
	before := created()
	l.Post(func() { run(0) })
	for i := 0; i < jobs; i++ {
		<-done
	}
	if n := created() - before; n > 5 {
		t.Errorf("%d goroutines created for %d jobs run one after another; want 1 coroutine", n, jobs)
	}
	l.Close()
	waitUntil(t, func() bool { return runtime.NumGoroutine() <= base }, "the kept tasks to end")
}

func waitUntil(t *testing.T, ok func() bool, what string) {
	t.Helper()
	for end := time.Now().Add(5 * time.Second); !ok(); {
		if time.Now().After(end) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
