//go:build linux

package evloop

import (
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

// Watcher receives a registered descriptor's readiness reports (EPOLLIN,
// EPOLLOUT, EPOLLRDHUP, EPOLLHUP, EPOLLERR bits) on the loop.
type Watcher interface {
	Ready(events uint32)
}

// Loop is one event loop: a goroutine waiting in an epoll instance,
// running the tasks, watchers and timers of the sockets it owns.
type Loop struct {
	epfd   int
	wakefd int // an eventfd: Post writes it to end a wait

	watchers map[uint64]Watcher
	next     uint64 // the next registration token
	timers   timerHeap
	runq     []*Task              // tasks to resume
	spare    []*Task              // runq's other buffer
	current  atomic.Pointer[Task] // the task being resumed
	buf      []byte               // relays' buffer for small messages
	pipes    []*pipe              // empty pipes kept for relays' streams
	idle     []*Task              // finished tasks kept for reuse

	asleep atomic.Bool // in (or about to enter) epoll_wait
	mu     sync.Mutex
	inbox  []func()
	closed bool
	done   chan struct{}
}

// New creates a loop and starts its goroutine.
func New() (*Loop, error) {
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	wfd, _, errno := syscall.Syscall(syscall.SYS_EVENTFD2, 0, syscall.O_CLOEXEC|syscall.O_NONBLOCK, 0)
	if errno != 0 {
		syscall.Close(epfd)
		return nil, errno
	}
	l := &Loop{epfd: epfd, wakefd: int(wfd), watchers: map[uint64]Watcher{}, next: 1, done: make(chan struct{})}
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN}
	setToken(&ev, 0) // token 0: the wake-up descriptor
	if err := syscall.EpollCtl(epfd, syscall.EPOLL_CTL_ADD, l.wakefd, &ev); err != nil {
		syscall.Close(epfd)
		syscall.Close(l.wakefd)
		return nil, err
	}
	go l.run()
	return l, nil
}

// Post runs f on the loop soon; it may be called from any goroutine. It
// reports false, and f is not run, once the loop is closed.
func (l *Loop) Post(f func()) bool {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return false
	}
	l.inbox = append(l.inbox, f)
	l.mu.Unlock()
	if l.asleep.CompareAndSwap(true, false) {
		var one = [8]byte{1}
		syscall.Write(l.wakefd, one[:])
	}
	return true
}

// Close stops the loop once the functions posted so far have run; it
// waits for that. Sockets still registered are not closed: their owners
// close them.
func (l *Loop) Close() {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		<-l.done
		return
	}
	l.closed = true
	l.mu.Unlock()
	l.asleep.Store(false)
	var one = [8]byte{1}
	syscall.Write(l.wakefd, one[:])
	<-l.done
}

// register adds fd to the epoll set, edge-triggered for events, with w
// receiving its reports; it returns the registration's token.
func (l *Loop) register(fd int, events uint32, w Watcher) (uint64, error) {
	tok := l.next
	l.next++
	ev := syscall.EpollEvent{Events: events}
	setToken(&ev, tok)
	if err := syscall.EpollCtl(l.epfd, syscall.EPOLL_CTL_ADD, fd, &ev); err != nil {
		return 0, err
	}
	l.watchers[tok] = w
	return tok, nil
}

// deregister forgets tok; when fd >= 0 it is also taken out of the epoll
// set (needed when the descriptor stays open elsewhere).
func (l *Loop) deregister(tok uint64, fd int) {
	delete(l.watchers, tok)
	if fd >= 0 {
		syscall.EpollCtl(l.epfd, syscall.EPOLL_CTL_DEL, fd, nil)
	}
}

// run is the loop's goroutine.
func (l *Loop) run() {
	defer close(l.done)
	defer syscall.Close(l.epfd)
	defer syscall.Close(l.wakefd)
	defer func() {
		for _, p := range l.pipes {
			p.close()
		}
		for _, t := range l.idle {
			t.stop() // its coroutine returns
		}
	}()
	events := make([]syscall.EpollEvent, 256)
	var inbox []func()
	for {
		l.mu.Lock()
		inbox, l.inbox = l.inbox, inbox[:0]
		closed := l.closed
		l.mu.Unlock()
		for i, f := range inbox {
			f()
			inbox[i] = nil
		}
		if closed && len(inbox) == 0 {
			return
		}
		l.runReady()
		timeout := -1
		if next := l.fireTimers(time.Now().UnixNano()); next > 0 {
			timeout = int((next - time.Now().UnixNano() + int64(time.Millisecond) - 1) / int64(time.Millisecond))
			timeout = max(timeout, 0)
		}
		l.runReady()
		if len(l.runq) > 0 {
			timeout = 0
		}
		if timeout != 0 {
			l.asleep.Store(true)
			l.mu.Lock()
			if len(l.inbox) > 0 || l.closed {
				timeout = 0
			}
			l.mu.Unlock()
		}
		n, err := syscall.EpollWait(l.epfd, events, timeout)
		l.asleep.Store(false)
		if err != nil && err != syscall.EINTR {
			panic("evloop: epoll_wait: " + err.Error())
		}
		for i := 0; i < n; i++ {
			tok := token(&events[i])
			if tok == 0 {
				var b [8]byte
				syscall.Read(l.wakefd, b[:])
				continue
			}
			if w := l.watchers[tok]; w != nil {
				w.Ready(events[i].Events)
			}
		}
		l.runReady()
	}
}

// runReady resumes the tasks made ready, until there are none.
func (l *Loop) runReady() {
	for len(l.runq) > 0 {
		runq := l.runq
		l.runq = l.spare[:0]
		for i, t := range runq {
			runq[i] = nil
			t.queued = false
			l.resume(t)
		}
		l.spare = runq[:0]
	}
}

// setToken and token keep a registration's token in an epoll event's
// data (the 8 bytes after Events, whatever the platform's field names).
func setToken(ev *syscall.EpollEvent, tok uint64) {
	*(*uint64)(unsafe.Pointer(&ev.Fd)) = tok
}

func token(ev *syscall.EpollEvent) uint64 {
	return *(*uint64)(unsafe.Pointer(&ev.Fd))
}
