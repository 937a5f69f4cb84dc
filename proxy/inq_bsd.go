//go:build darwin || dragonfly || freebsd || netbsd

package proxy

import (
	"syscall"
	"unsafe"
)

// fionread is FIONREAD, _IOR('f', 127, int) in the BSDs' <sys/filio.h>;
// package syscall does not define it for these systems.
const fionread = 0x4004667f

// inq returns how many bytes are queued for reading on the socket fd
// (ioctl FIONREAD).
func inq(fd uintptr) (int, error) {
	var n int32
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, fd, fionread, uintptr(unsafe.Pointer(&n))); e != 0 {
		return 0, e
	}
	return int(n), nil
}
