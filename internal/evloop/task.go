//go:build linux

package evloop

import (
	"context"
	"iter"
	"sync/atomic"
)

// Task is one session running as a coroutine on a loop (see the package
// comment). Its function runs until it returns; while it waits, the loop
// runs other tasks. A finished task's coroutine is kept for the loop's
// next task (up to maxIdleTasks), with the stack it has grown.
type Task struct {
	l      *Loop
	yield  func(struct{}) bool
	next   func() (struct{}, bool)
	stop   func()
	queued bool // in the loop's run queue
	// blocked: the task is parked in Block, whose function runs on
	// another goroutine (and may use the task's sockets, with poll(2)).
	blocked atomic.Bool
	// job and ctx: the function to run next and its context (nil while
	// the coroutine is idle).
	job func(ctx context.Context)
	ctx context.Context
}

// maxIdleTasks bounds the finished tasks a loop keeps for reuse.
const maxIdleTasks = 64

type taskKey struct{}

// Go starts f as a task on l, resumed for the first time before the loop
// waits again. On the loop only (from elsewhere: Post a function that
// calls Go). f receives a context carrying the task (see FromContext),
// derived from ctx.
func (l *Loop) Go(ctx context.Context, f func(ctx context.Context)) {
	var t *Task
	if n := len(l.idle); n > 0 {
		t = l.idle[n-1]
		l.idle[n-1] = nil
		l.idle = l.idle[:n-1]
	} else {
		t = &Task{l: l}
		t.next, t.stop = iter.Pull(t.run)
	}
	t.job, t.ctx = f, context.WithValue(ctx, taskKey{}, t)
	l.ready(t)
}

// run is the task's coroutine: it runs one job after another, idle in
// between, until the loop does not keep it or stops it.
func (t *Task) run(yield func(struct{}) bool) {
	t.yield = yield
	for {
		if job, ctx := t.job, t.ctx; job != nil {
			t.job, t.ctx = nil, nil
			job(ctx)
			if len(t.l.idle) >= maxIdleTasks {
				return
			}
			t.l.idle = append(t.l.idle, t)
		}
		if !yield(struct{}{}) {
			return
		}
	}
}

// FromContext returns the task whose context ctx is (or derives from),
// or nil for code that does not run in a task.
func FromContext(ctx context.Context) *Task {
	t, _ := ctx.Value(taskKey{}).(*Task)
	return t
}

// Loop returns the loop t runs on.
func (t *Task) Loop() *Loop { return t.l }

// ready queues t to be resumed. On the loop only.
func (l *Loop) ready(t *Task) {
	if !t.queued {
		t.queued = true
		l.runq = append(l.runq, t)
	}
}

// resume runs t until it parks or returns.
func (l *Loop) resume(t *Task) {
	if t.next == nil {
		return // returned already
	}
	prev := l.current.Swap(t)
	_, alive := t.next()
	l.current.Store(prev)
	if !alive {
		t.stop()
		t.next, t.stop = nil, nil
	}
}

// park gives the loop back until the task is made ready again. In the
// task only.
func (t *Task) park() {
	t.yield(struct{}{})
}

// running reports whether t is the task being run by its loop.
func (t *Task) running() bool { return t != nil && t.l.current.Load() == t }

// Block runs f and returns when it has; in a task (ctx from Go) f runs on
// a goroutine of its own while the task is parked, so that a call that
// blocks in Go's scheduler (a channel, a lock held long, DNS, a store)
// does not stall the loop. Outside a task it simply calls f.
func Block(ctx context.Context, f func()) {
	t := FromContext(ctx)
	if !t.running() || t.blocked.Load() {
		// Not in a task, or already in Block's goroutine.
		f()
		return
	}
	done := false
	t.blocked.Store(true)
	defer t.blocked.Store(false)
	go func() {
		f()
		if !t.l.Post(func() { done = true; t.l.ready(t) }) {
			panic("evloop: loop closed while a task was blocked")
		}
	}()
	for !done {
		t.park()
	}
}
