//go:build linux

package evloop

import "container/heap"

// Timer calls f on its loop at a time set by Loop.Reset. A Timer belongs
// to one loop and is used only on it.
type Timer struct {
	when int64 // UnixNano
	f    func()
	idx  int // index in the heap, -1 when not scheduled
}

// NewTimer returns a stopped timer that calls f.
func NewTimer(f func()) *Timer { return &Timer{f: f, idx: -1} }

// timerHeap orders scheduled timers by when.
type timerHeap []*Timer

func (h timerHeap) Len() int           { return len(h) }
func (h timerHeap) Less(i, j int) bool { return h[i].when < h[j].when }
func (h timerHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].idx, h[j].idx = i, j
}
func (h *timerHeap) Push(x any) {
	t := x.(*Timer)
	t.idx = len(*h)
	*h = append(*h, t)
}
func (h *timerHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	t.idx = -1
	return t
}

// ResetTimer schedules t at when (UnixNano), replacing any earlier
// schedule. On the loop only.
func (l *Loop) ResetTimer(t *Timer, when int64) {
	t.when = when
	if t.idx >= 0 {
		heap.Fix(&l.timers, t.idx)
		return
	}
	heap.Push(&l.timers, t)
}

// StopTimer unschedules t. On the loop only.
func (l *Loop) StopTimer(t *Timer) {
	if t.idx >= 0 {
		heap.Remove(&l.timers, t.idx)
	}
}

// fireTimers runs the timers due at now and returns the time of the next
// one (0 for none).
func (l *Loop) fireTimers(now int64) int64 {
	for len(l.timers) > 0 {
		t := l.timers[0]
		if t.when > now {
			return t.when
		}
		heap.Pop(&l.timers)
		t.f()
	}
	return 0
}
