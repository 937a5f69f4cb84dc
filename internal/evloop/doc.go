// Package evloop runs network sessions on event loops instead of a
// goroutine per connection waiting in Go's network poller.
//
// A Loop is one goroutine that waits in its own epoll instance. Each
// session runs as a Task: a coroutine (iter.Pull) that the loop resumes
// when one of its sockets is ready or a deadline passes, and that hands
// control back to the loop whenever it would block. Switching between the
// loop and a task is a direct coroutine switch, never a trip through the
// Go scheduler, so a session's waits cost no thread wake-ups, no futex
// and no netpoll round. The session's code stays ordinary blocking code:
// a Conn is a net.Conn over a non-blocking socket whose Read and Write
// park the calling task on EAGAIN.
//
// Sockets are registered once, edge-triggered, for reading and writing
// (EPOLLIN|EPOLLOUT|EPOLLRDHUP|EPOLLET): no epoll_ctl per wait. Tokens,
// never descriptor numbers, name registrations, so a report racing with a
// close cannot reach a socket that reuses the number.
//
// Rules for code running in a Task: anything that may block other than a
// Conn's Read, Write or a Dial on the task's loop must go through Block,
// which runs it on a goroutine of its own while the task is parked (a
// task that blocks in the Go scheduler stalls every session of its loop).
// A Conn may be read and written only by the task that owns it, or after
// Release by anyone (it then waits in Go's poller like any net.Conn);
// Close and the deadline setters may be called from any goroutine.
package evloop
