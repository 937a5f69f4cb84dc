package proxy

import (
	"syscall"
	"unsafe"
)

// inq returns how many bytes are queued for reading on the socket fd
// (ioctl TIOCINQ).
func inq(fd uintptr) (int, error) {
	var n int32
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, fd, syscall.TIOCINQ, uintptr(unsafe.Pointer(&n))); e != 0 {
		return 0, e
	}
	return int(n), nil
}
