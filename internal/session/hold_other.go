//go:build !linux

package session

import "net"

// watchHangup returns a channel that is never closed and a no-op stop: a
// peer's shutdown can be seen without reading only with Linux's
// POLLRDHUP (hold_linux.go), and reading would take bytes the front end
// needs. On other systems Hold therefore waits out d (or ctx), as nginx
// does, even when the client has left meanwhile; the session ends when
// the front end next uses the connection.
func watchHangup(net.Conn) (<-chan struct{}, func()) {
	return make(chan struct{}), func() {}
}
