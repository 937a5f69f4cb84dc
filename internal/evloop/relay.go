//go:build linux

package evloop

import (
	"fmt"
	"net"
	"os"
	"runtime/debug"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// relayChunk is the size of the loop's buffer for small messages. A read
// that fills it marks a stream, moved from then on with splice(2) through
// a pipe, so that bulk data never crosses user space.
const relayChunk = 16 << 10

// relayTurn bounds what one direction moves before the loop serves its
// other sockets; the direction then continues on the loop's next round.
const relayTurn = 1 << 20

// Relay moves bytes both ways between two sockets of one loop, from their
// readiness reports, with no task, no goroutine and no buffer while the
// session is idle. A small message costs one read and one write through
// the loop's buffer; a stream is spliced through a pipe that the
// direction holds only while bytes are in flight. A direction whose
// destination is full stops reading until it drains, so nothing is lost
// and what it holds is bounded: a pipe's worth (pipeSize) or a buffer's
// (relayChunk).
//
// The relay ends at the first end of stream or error of either side
// (bytes already read are delivered first when the end is a clean one),
// when the first socket sends nothing for its idle time, or on Close.
// It calls its end function once, on the loop; it does not close the
// sockets.
type Relay struct {
	l     *Loop
	dirs  [2]relayDir // 0: a to b, 1: b to a
	end   func(dir int, err error)
	done  bool
	idle  time.Duration
	timer *Timer
	last  int64 // UnixNano of a's last data
}

// relayDir is one direction of a relay.
type relayDir struct {
	r        *Relay
	src, dst *Conn
	pending  []byte // read and not yet written (dst was full)
	pipe     *pipe  // while a pump streams, or while it holds bytes
	inPipe   int
	// stream: src filled the buffer; splice until a report brings less
	// than a buffer's worth.
	stream bool
	eof    bool // src ended: end once pending bytes are written
	moved  int64
	queued bool // a next turn is posted
}

// StartRelay relays between a and b, which the calling task owns and
// which belong to its loop; from then on no task may use them. idle (0:
// none) is how long a may stay silent; data from b does not count. end is
// called once with the direction (0: a to b, 1: b to a, -1: Close or a
// panic) and the error that ended it (nil: the source's end of stream;
// ErrIdle; a *PanicError).
func StartRelay(a, b *Conn, idle time.Duration, end func(dir int, err error)) (*Relay, error) {
	if !a.onLoop() || !b.onLoop() || a.l != b.l {
		return nil, ErrNotOwner
	}
	r := &Relay{l: a.l, end: end, idle: idle, last: time.Now().UnixNano()}
	r.dirs[0] = relayDir{r: r, src: a, dst: b}
	r.dirs[1] = relayDir{r: r, src: b, dst: a}
	a.SetWatcher(r)
	b.SetWatcher(r)
	if idle > 0 {
		r.timer = NewTimer(r.checkIdle)
		r.l.ResetTimer(r.timer, r.last+int64(idle))
	}
	if a.rready || b.rready || a.hup || b.hup {
		// Bytes came before the relay: moved once the task has returned.
		r.l.Post(func() { r.Ready(0) })
	}
	return r, nil
}

// Ready is a report for either socket: both directions look at what they
// can do now. On the loop.
func (r *Relay) Ready(uint32) {
	for i := range r.dirs {
		if !r.done {
			r.dirs[i].pump()
		}
	}
}

// Close ends the relay (end gets dir -1 and net.ErrClosed); any goroutine
// may call it. Nothing happens when it has ended already.
func (r *Relay) Close() {
	r.l.Post(func() { r.stop(-1, net.ErrClosed) })
}

// Moved returns the bytes delivered a to b and b to a. On the loop, or
// after end.
func (r *Relay) Moved() (ab, ba int64) { return r.dirs[0].moved, r.dirs[1].moved }

// stop ends the relay once: pipes go back or are closed, the sockets'
// reports are dropped, end is told.
func (r *Relay) stop(dir int, err error) {
	if r.done {
		return
	}
	r.done = true
	if r.timer != nil {
		r.l.StopTimer(r.timer)
	}
	for i := range r.dirs {
		d := &r.dirs[i]
		d.src.watcher = nil
		if d.pipe != nil {
			if d.inPipe > 0 {
				d.pipe.close() // undelivered bytes of a failed session
			} else {
				r.l.givePipe(d.pipe)
			}
			d.pipe = nil
		}
		d.pending = nil
	}
	r.end(dir, err)
}

// testHookPump, when set (tests only), runs at the start of every pump.
var testHookPump func()

// PanicError ends a relay whose code panicked (end gets dir -1): the
// loop and its other sessions go on.
type PanicError struct {
	Value any
	Stack []byte
}

func (e *PanicError) Error() string { return fmt.Sprintf("panic: %v", e.Value) }

// recovered ends r with a PanicError when the caller panicked; a panic
// in end itself (r ended already) is not the relay's to hide.
func (r *Relay) recovered() {
	v := recover()
	if v == nil {
		return
	}
	if r.done {
		panic(v)
	}
	r.stop(-1, &PanicError{Value: v, Stack: debug.Stack()})
}

// checkIdle runs when a may have been silent for the idle time.
func (r *Relay) checkIdle() {
	defer r.recovered()
	if due := r.last + int64(r.idle); due > time.Now().UnixNano() {
		r.l.ResetTimer(r.timer, due)
		return
	}
	r.stop(0, ErrIdle)
}

// pump moves what d can: first what it holds, then what src has queued,
// until src is drained, dst is full, the turn is over or the relay ends.
func (d *relayDir) pump() {
	defer d.r.recovered()
	if testHookPump != nil {
		testHookPump()
	}
	if !d.flush() {
		return
	}
	budget := relayTurn
	moved, tried := 0, false
	for !d.eof && d.src.rready {
		if budget <= 0 {
			d.nextTurn()
			return
		}
		var n int
		var err error
		if d.stream {
			n, err = d.spliceIn()
		} else {
			n, err = d.read()
		}
		tried = true
		switch {
		case err != nil:
			d.r.stop(d.index(), err)
			return
		case n < 0: // drained
			continue
		case n == 0:
			d.eof = true
		}
		budget -= n
		moved += n
		if !d.flush() {
			return
		}
	}
	// src is drained and d holds nothing. A stream that brought less than
	// a buffer's worth this time is small messages again; the empty pipe
	// goes back to the loop (an idle session holds none).
	if d.stream && tried && moved < relayChunk {
		d.stream = false
	}
	if d.pipe != nil {
		d.r.l.givePipe(d.pipe)
		d.pipe = nil
	}
}

// nextTurn continues d on the loop's next round.
func (d *relayDir) nextTurn() {
	if d.queued {
		return
	}
	d.queued = true
	d.r.l.Post(func() {
		d.queued = false
		if !d.r.done {
			d.pump()
		}
	})
}

func (d *relayDir) index() int {
	if d == &d.r.dirs[0] {
		return 0
	}
	return 1
}

// read reads src into the loop's buffer and writes it to dst, keeping
// what dst does not take. It returns the bytes read (0: end of stream,
// -1: nothing queued).
func (d *relayDir) read() (int, error) {
	buf := d.r.l.relayBuf()
	fd, err := d.src.acquire()
	if err != nil {
		return 0, err
	}
	n, err := syscall.Read(fd, buf)
	d.src.releaseFD()
	d.src.rready = moreToRead(n, len(buf), err, d.src.hup)
	switch {
	case err == syscall.EAGAIN || err == syscall.EINTR:
		return -1, nil
	case err != nil:
		return 0, os.NewSyscallError("read", err)
	case n == 0:
		return 0, nil
	}
	d.active()
	d.stream = n == len(buf)
	w, err := d.write(buf[:n])
	if err != nil {
		return 0, err
	}
	if w < n {
		d.pending = append([]byte(nil), buf[w:n]...)
	}
	return n, nil
}

// write writes b to dst as far as dst takes it.
func (d *relayDir) write(b []byte) (int, error) {
	fd, err := d.dst.acquire()
	if err != nil {
		return 0, err
	}
	defer d.dst.releaseFD()
	done := 0
	for done < len(b) {
		n, err := syscall.Write(fd, b[done:])
		if n > 0 {
			done += n
			d.moved += int64(n)
		}
		switch {
		case err == syscall.EINTR:
		case err == syscall.EAGAIN:
			d.dst.wready = false
			return done, nil
		case err != nil:
			return done, os.NewSyscallError("write", err)
		}
	}
	return done, nil
}

// spliceIn moves what src has queued into d's pipe (as much as the pipe
// holds). It returns the bytes moved (0: end of stream, -1: drained).
func (d *relayDir) spliceIn() (int, error) {
	if d.pipe == nil {
		p, err := d.r.l.takePipe()
		if err != nil {
			return 0, err
		}
		d.pipe = p
	}
	fd, err := d.src.acquire()
	if err != nil {
		return 0, err
	}
	n, err := unix.Splice(fd, nil, d.pipe.w, nil, relayTurn, unix.SPLICE_F_MOVE|unix.SPLICE_F_NONBLOCK)
	d.src.releaseFD()
	switch {
	case err == syscall.EAGAIN:
		// src is drained (the pipe is never full here: flush emptied it).
		d.src.rready = d.src.hup
		return -1, nil
	case err == syscall.EINTR:
		return -1, nil
	case err != nil:
		return 0, os.NewSyscallError("splice", err)
	case n == 0:
		return 0, nil
	}
	d.inPipe += int(n)
	d.active()
	return int(n), nil
}

// flush writes what d holds to dst. It reports whether d holds nothing
// any more; false when dst is full (its report resumes d) or the relay
// ended.
func (d *relayDir) flush() bool {
	if len(d.pending) > 0 {
		if !d.dst.wready {
			return false
		}
		n, err := d.write(d.pending)
		if err != nil {
			d.r.stop(d.index(), err)
			return false
		}
		d.pending = d.pending[n:]
		if len(d.pending) > 0 {
			return false
		}
		d.pending = nil
	}
	for d.inPipe > 0 {
		if !d.dst.wready {
			return false
		}
		fd, err := d.dst.acquire()
		if err != nil {
			d.r.stop(d.index(), err)
			return false
		}
		n, err := unix.Splice(d.pipe.r, nil, fd, nil, d.inPipe, unix.SPLICE_F_MOVE|unix.SPLICE_F_NONBLOCK)
		d.dst.releaseFD()
		switch {
		case err == syscall.EAGAIN:
			d.dst.wready = false
			return false
		case err == syscall.EINTR:
		case err != nil:
			d.r.stop(d.index(), os.NewSyscallError("splice", err))
			return false
		default:
			d.inPipe -= int(n)
			d.moved += n
		}
	}
	if d.eof {
		d.r.stop(d.index(), nil)
		return false
	}
	return true
}

// active records data from a (the idle timer's reference).
func (d *relayDir) active() {
	if d == &d.r.dirs[0] && d.r.timer != nil {
		d.r.last = time.Now().UnixNano()
	}
}

// pipe is a kernel pipe used to splice a stream.
type pipe struct{ r, w int }

func (p *pipe) close() {
	syscall.Close(p.r)
	syscall.Close(p.w)
}

// pipeSize is the capacity asked for a relay's pipe (fs.pipe-max-size,
// 1 MiB by default, is the most an unprivileged process may ask).
const pipeSize = 1 << 20

// maxSparePipes bounds the empty pipes a loop keeps for the next stream.
const maxSparePipes = 4

// takePipe returns an empty pipe: a spare one or a new one.
func (l *Loop) takePipe() (*pipe, error) {
	if n := len(l.pipes); n > 0 {
		p := l.pipes[n-1]
		l.pipes = l.pipes[:n-1]
		return p, nil
	}
	var fds [2]int
	if err := unix.Pipe2(fds[:], unix.O_NONBLOCK|unix.O_CLOEXEC); err != nil {
		return nil, os.NewSyscallError("pipe2", err)
	}
	// A bigger pipe moves a stream in fewer calls; its pages are taken
	// only while bytes are in it. The default size serves when refused.
	unix.FcntlInt(uintptr(fds[1]), unix.F_SETPIPE_SZ, pipeSize)
	return &pipe{r: fds[0], w: fds[1]}, nil
}

// givePipe keeps an empty pipe for the next stream, or closes it.
func (l *Loop) givePipe(p *pipe) {
	if len(l.pipes) < maxSparePipes {
		l.pipes = append(l.pipes, p)
		return
	}
	p.close()
}

// relayBuf returns the loop's buffer for small messages: relays use it
// one at a time and keep nothing in it between calls.
func (l *Loop) relayBuf() []byte {
	if l.buf == nil {
		l.buf = make([]byte, relayChunk)
	}
	return l.buf
}
