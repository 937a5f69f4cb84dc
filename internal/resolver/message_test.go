package resolver

import (
	"bytes"
	"testing"
)

func TestBuildQuery(t *testing.T) {
	q, err := buildQuery(0x1234, "a.example", typeA)
	if err != nil {
		t.Fatal(err)
	}
	want := []byte{0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0,
		1, 'a', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0, 0, 1, 0, 1}
	if !bytes.Equal(q, want) {
		t.Fatalf("query % x", q)
	}
	long := bytes.Repeat([]byte("a"), 64)
	for _, bad := range []string{"", "a..b", ".a", "a.", string(long), string(bytes.Repeat([]byte("abc."), 64)) + "x"} {
		if _, err := buildQuery(1, bad, typeA); err == nil {
			t.Errorf("name %q accepted", bad)
		}
	}
}

func TestParseMessage(t *testing.T) {
	q, _ := buildQuery(7, "11.2.0.192.in-addr.arpa", typePTR)
	resp := reply(q, answer{values: []string{"Host.Example"}}, typePTR, false)
	m, err := parseMessage(resp)
	if err != nil {
		t.Fatal(err)
	}
	if !m.matches(7, "11.2.0.192.IN-ADDR.arpa", typePTR) || m.matches(8, "11.2.0.192.in-addr.arpa", typePTR) {
		t.Fatal("matches")
	}
	if len(m.answer) != 1 || m.answer[0].target != "Host.Example" {
		t.Fatalf("answer %+v", m.answer)
	}
	// Compression loops and pointers out of range are errors.
	loop := append([]byte(nil), resp...)
	loop[12], loop[13] = 0xc0, 12
	if _, err := parseMessage(loop); err == nil {
		t.Fatal("pointer loop accepted")
	}
	for i := range len(resp) {
		parseMessage(resp[:i]) // must not panic
	}
}

func FuzzParseMessage(f *testing.F) {
	q, _ := buildQuery(7, "11.2.0.192.in-addr.arpa", typePTR)
	f.Add(reply(q, answer{values: []string{"Host.Example"}}, typePTR, false))
	qa, _ := buildQuery(9, "x.example", typeA)
	f.Add(reply(qa, answer{cname: "y.example", values: []string{"192.0.2.1"}}, typeA, false))
	f.Add(reply(qa, answer{rcode: 3}, typeA, false))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := parseMessage(b)
		if err != nil {
			return
		}
		if len(m.qname) > maxNameLen {
			t.Fatalf("question name of %d bytes", len(m.qname))
		}
		for _, r := range m.answer {
			if len(r.target) > maxNameLen {
				t.Fatalf("target of %d bytes", len(r.target))
			}
		}
	})
}

func FuzzReverseAndQuery(f *testing.F) {
	f.Add("h11.example.org")
	f.Add("a..b")
	f.Fuzz(func(t *testing.T, name string) {
		q, err := buildQuery(1, name, typeA)
		if err != nil {
			return
		}
		m, err := parseMessage(append(q[:2:2], append([]byte{0x81, 0x80}, q[4:]...)...))
		if err != nil {
			t.Fatalf("own query for %q does not parse: %v", name, err)
		}
		if m.qname != name {
			t.Fatalf("round trip %q -> %q", name, m.qname)
		}
	})
}
