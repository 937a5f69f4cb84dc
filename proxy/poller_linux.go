package proxy

import (
	"errors"
	"os"
	"sync"
	"syscall"
)

// poller watches the sockets of idle spliced sessions with one epoll
// instance and one goroutine, so that a session waiting for either side
// to speak holds no goroutine, no stack and no buffer: only its two
// sockets and a little bookkeeping (see relay.go). The epoll descriptor
// itself waits in Go's network poller (an epoll set is readable when it
// has events), so no thread blocks in epoll_wait.
//
// Registrations are one-shot: after a socket is reported readable it is
// not watched again until arm is called for it anew. Each registration
// carries a key, never the descriptor number, so a report that races with
// a close can never be taken for another socket that reuses the number.
type poller struct {
	epfd int
	file *os.File // epfd, registered with Go's poller; closing it stops loop
	rc   syscall.RawConn

	mu      sync.Mutex
	next    uint64
	waiters map[uint64]func()
	done    chan struct{}
}

// newPoller creates the epoll instance and starts its loop.
func newPoller() (*poller, error) {
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	if err := syscall.SetNonblock(epfd, true); err != nil {
		syscall.Close(epfd)
		return nil, err
	}
	f := os.NewFile(uintptr(epfd), "epoll")
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, err
	}
	p := &poller{epfd: epfd, file: f, rc: rc, next: 1, waiters: map[uint64]func(){}, done: make(chan struct{})}
	go p.loop()
	return p, nil
}

// register reserves a key whose reports call ready, each on its own new
// goroutine. The key is used with arm and released with unregister.
func (p *poller) register(ready func()) uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	k := p.next
	p.next++
	p.waiters[k] = ready
	return k
}

// unregister forgets key: a report for it that is already on its way is
// dropped. The socket itself leaves the epoll set when it is closed.
func (p *poller) unregister(key uint64) {
	p.mu.Lock()
	delete(p.waiters, key)
	p.mu.Unlock()
}

// arm watches fd, under key, for one report of readability (data, end of
// stream or an error). first selects adding fd rather than re-arming it.
// The caller must hold fd open for the duration of the call (i.e. call
// it from within syscall.RawConn.Control).
func (p *poller) arm(fd int, key uint64, first bool) error {
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLRDHUP | syscall.EPOLLONESHOT}
	setKey(&ev, key)
	op := syscall.EPOLL_CTL_MOD
	if first {
		op = syscall.EPOLL_CTL_ADD
	}
	return syscall.EpollCtl(p.epfd, op, fd, &ev)
}

func (p *poller) loop() {
	defer close(p.done)
	events := make([]syscall.EpollEvent, 128)
	for {
		var n int
		var werr error
		err := p.rc.Read(func(fd uintptr) bool {
			n, werr = syscall.EpollWait(int(fd), events, 0)
			return werr != nil || n > 0 // else wait until the set is readable
		})
		if err != nil {
			return // closed
		}
		if werr != nil {
			if errors.Is(werr, syscall.EINTR) {
				continue
			}
			return // only a bug (EBADF, EINVAL) gets here
		}
		for _, ev := range events[:n] {
			k := key(&ev)
			p.mu.Lock()
			ready := p.waiters[k]
			p.mu.Unlock()
			if ready != nil {
				go ready()
			}
		}
	}
}

// close stops the loop and releases the epoll instance. Sessions still
// registered are not told: the server ends them itself, before.
func (p *poller) close() {
	p.file.Close()
	<-p.done
}

// setKey and key store a 64-bit key in an event's data field (Fd and Pad
// are its two halves on every Linux architecture).
func setKey(ev *syscall.EpollEvent, k uint64) {
	ev.Fd, ev.Pad = int32(uint32(k)), int32(uint32(k>>32))
}

func key(ev *syscall.EpollEvent) uint64 {
	return uint64(uint32(ev.Fd)) | uint64(uint32(ev.Pad))<<32
}
