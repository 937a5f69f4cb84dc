package proxy

import "syscall"

// queued returns how many bytes are queued on fd (0 on any error).
func queued(fd uintptr) int {
	n, err := inq(fd)
	if err != nil {
		return 0
	}
	return n
}

// readable returns how many bytes are queued on fd: >0 bytes, 0 at EOF, or
// EAGAIN when nothing has arrived yet.
func readable(fd uintptr) (int, error) {
	n, err := inq(fd)
	if err != nil {
		return 0, err
	}
	if n > 0 {
		return n, nil
	}
	var b [1]byte
	m, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
	if err != nil {
		return 0, err
	}
	if m > 0 {
		return m, nil
	}
	return 0, nil
}
