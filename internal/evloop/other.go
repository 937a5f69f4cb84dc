//go:build !linux

package evloop

import (
	"context"
	"net"
	"time"
)

// Loop is an event loop; there are none on this system.
type Loop struct{}

// New reports ErrUnsupported.
func New() (*Loop, error) { return nil, ErrUnsupported }

// Post, Go and Close are never reached without a loop.
func (l *Loop) Post(f func()) bool                                  { return false }
func (l *Loop) Go(ctx context.Context, f func(ctx context.Context)) {}
func (l *Loop) Close()                                              {}

// Task is never made without a loop.
type Task struct{}

// FromContext returns nil: nothing runs in a task.
func FromContext(context.Context) *Task { return nil }

// Block calls f.
func Block(_ context.Context, f func()) { f() }

// Dial dials with dialer.
func Dial(ctx context.Context, dialer *net.Dialer, network, address string) (net.Conn, error) {
	return dialer.DialContext(ctx, network, address)
}

// Conn is never made without a loop.
type Conn struct{ net.TCPConn }

func (c *Conn) Adopt(context.Context)            {}
func (c *Conn) Release() error                   { return nil }
func (c *Conn) Loop() *Loop                      { return nil }
func (c *Conn) Hold(time.Duration) (bool, error) { return false, ErrNotOwner }

// Listener is never made without a loop.
type Listener struct{}

func NewListener(*net.TCPListener) (*Listener, error) { return nil, ErrUnsupported }
func (ln *Listener) Close() error                     { return nil }
func (t *Task) Loop() *Loop                           { return nil }
func (c *Conn) Inner() Socket                         { return nil }

// Watch is never made without a loop.
type Watch struct{}

func (w *Watch) Pause()        {}
func (w *Watch) Resume() error { return nil }

func (ln *Listener) Addr() net.Addr { return nil }
func (ln *Listener) Watch(*Loop, func(*Conn), func(error)) (*Watch, error) {
	return nil, ErrUnsupported
}

// Relay is never made without a loop.
type Relay struct{}

// StartRelay reports ErrUnsupported.
func StartRelay(a, b *Conn, idle time.Duration, end func(dir int, err error)) (*Relay, error) {
	return nil, ErrUnsupported
}
func (r *Relay) Close()                {}
func (r *Relay) Moved() (ab, ba int64) { return 0, 0 }

// PanicError ends a relay whose code panicked.
type PanicError struct {
	Value any
	Stack []byte
}

func (e *PanicError) Error() string { return "panic" }
