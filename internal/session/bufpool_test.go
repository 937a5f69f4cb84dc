package session

import "testing"

func TestBufPool(t *testing.T) {
	p := NewBufPool(64)
	b := p.Get()
	if len(b) != 64 {
		t.Fatalf("len %d", len(b))
	}
	copy(b, "secret password")
	p.Put(b)
	for range 3 {
		c := p.Get()
		if len(c) != 64 {
			t.Fatalf("len %d", len(c))
		}
		for i, x := range c {
			if x != 0 {
				t.Fatalf("byte %d of a recycled buffer is %q", i, x)
			}
		}
		p.Put(c)
	}
	p.Put(make([]byte, 10)) // another size is dropped, not kept
	if c := p.Get(); len(c) != 64 {
		t.Fatalf("len %d after a foreign Put", len(c))
	}
}
