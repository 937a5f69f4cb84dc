package session

import (
	"context"
	"errors"
	"net"
	"time"

	"mailproxy/internal/evloop"
)

// holder is a connection that can wait without a goroutine
// (evloop.Conn).
type holder interface {
	Hold(d time.Duration) (gone bool, err error)
}

// ErrClientGone reports a client that closed or reset its connection
// while the session held it without reading (an Auth-Wait delay).
var ErrClientGone = errors.New("client closed the connection during the Auth-Wait delay")

// Hold waits d without reading the client, as nginx does during an
// Auth-Wait delay (client bytes stay in the kernel for later). It returns
// nil when d has passed, ctx's error when ctx ends first, and
// ErrClientGone as soon as the client has closed or reset c: unlike
// nginx, a session whose client left does not live out the delay the auth
// service asked for, however long (Auth-Wait has no upper bound).
//
// c must not be read by anyone else meanwhile; its read deadline is clear
// on return (as it was, the front ends clear it before the auth request).
func Hold(ctx context.Context, c net.Conn, d time.Duration) error {
	if h, ok := c.(holder); ok {
		// A session on an event loop parks its task instead.
		gone, err := h.Hold(d)
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case gone:
			return ErrClientGone
		case err == nil:
			return nil
		case !errors.Is(err, evloop.ErrNotOwner):
			return err
		}
	}
	t := time.NewTimer(d)
	defer t.Stop()
	gone, stop := watchHangup(c)
	defer stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-gone:
		return ErrClientGone
	}
}
