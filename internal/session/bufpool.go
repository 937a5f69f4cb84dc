package session

import "sync"

// BufPool recycles the fixed-size client buffers of the pre-login
// dialogue (imap_client_buffer and its kind), so a session that logs in
// leaves nothing of them behind and logins allocate less. Buffers come
// back zeroed: a recycled buffer never shows an earlier session's bytes.
type BufPool struct {
	size int
	p    sync.Pool
}

// NewBufPool makes a pool of size-byte buffers.
func NewBufPool(size int) *BufPool {
	return &BufPool{size: size}
}

// Get returns a zeroed buffer of the pool's size.
func (b *BufPool) Get() []byte {
	if v := b.p.Get(); v != nil {
		return *(v.(*[]byte))
	}
	return make([]byte, b.size)
}

// Put zeroes buf and keeps it for a later Get. buf must come from Get and
// must not be used afterwards (nor any slice of it).
func (b *BufPool) Put(buf []byte) {
	if cap(buf) != b.size {
		return
	}
	buf = buf[:b.size]
	clear(buf)
	b.p.Put(&buf)
}
