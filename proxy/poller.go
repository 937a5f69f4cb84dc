package proxy

import (
	"errors"
	"sync"
	"syscall"
	"unsafe"
)

// poller watches the sockets of idle spliced sessions with one epoll
// instance and one goroutine, so that a session waiting for either side
// to speak holds no goroutine, no stack and no buffer: only its two
// sockets and a little bookkeeping (see relay.go).
//
// Registrations are one-shot: after a socket is reported readable it is
// not watched again until arm is called for it anew. Each registration
// carries a key, never the descriptor number, so a report that races with
// a close can never be taken for another socket that reuses the number.
type poller struct {
	epfd   int
	wakefd int // an eventfd; written to stop the loop

	mu      sync.Mutex
	next    uint64
	waiters map[uint64]func()
	done    chan struct{}
}

// wakeKey is the key of the eventfd's registration.
const wakeKey = 0

// newPoller creates the epoll instance and starts its loop.
func newPoller() (*poller, error) {
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	r, _, e := syscall.Syscall(syscall.SYS_EVENTFD2, 0, syscall.O_CLOEXEC|syscall.O_NONBLOCK, 0)
	if e != 0 {
		syscall.Close(epfd)
		return nil, e
	}
	p := &poller{epfd: epfd, wakefd: int(r), next: wakeKey + 1, waiters: map[uint64]func(){}, done: make(chan struct{})}
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN}
	setKey(&ev, wakeKey)
	if err := syscall.EpollCtl(epfd, syscall.EPOLL_CTL_ADD, p.wakefd, &ev); err != nil {
		syscall.Close(p.wakefd)
		syscall.Close(epfd)
		return nil, err
	}
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
		n, err := syscall.EpollWait(p.epfd, events, -1)
		if err != nil {
			if errors.Is(err, syscall.EINTR) {
				continue
			}
			return // only a bug (EBADF, EINVAL) gets here
		}
		for _, ev := range events[:n] {
			k := key(&ev)
			if k == wakeKey {
				return
			}
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
// registered are not told: the server ends them itself.
func (p *poller) close() {
	one := uint64(1)
	syscall.Write(p.wakefd, (*[8]byte)(unsafe.Pointer(&one))[:])
	<-p.done
	syscall.Close(p.wakefd)
	syscall.Close(p.epfd)
}

// setKey and key store a 64-bit key in an event's data field (Fd and Pad
// are its two halves on every Linux architecture).
func setKey(ev *syscall.EpollEvent, k uint64) {
	ev.Fd, ev.Pad = int32(uint32(k)), int32(uint32(k>>32))
}

func key(ev *syscall.EpollEvent) uint64 {
	return uint64(uint32(ev.Fd)) | uint64(uint32(ev.Pad))<<32
}
