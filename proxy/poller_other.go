//go:build !linux

package proxy

// poller parks idle spliced sessions with epoll on Linux
// (poller_linux.go). Other systems have none: newPoller fails with
// errNoPoller, and every spliced session is relayed by a goroutine per
// direction (splice.go), which waits for readability in Go's own
// network poller. The methods exist so that relay.go builds; they are
// never reached without a poller.
type poller struct{}

func newPoller() (*poller, error) { return nil, errNoPoller }

func (p *poller) register(ready func()) uint64 { return 0 }

func (p *poller) unregister(key uint64) {}

func (p *poller) arm(fd int, key uint64, first bool) error { return errNoPoller }

func (p *poller) close() {}
