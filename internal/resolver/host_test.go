package resolver

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// TestLookupHost: a backend's host name (Auth-Server with proxy_resolve)
// resolved with the configured servers: every address in order (IPv4
// first), the smallest TTL, nginx's error texts.
func TestLookupHost(t *testing.T) {
	dns := startDNS(t, map[qkey]answer{
		{"imap.example", typeA}:    {values: []string{"192.0.2.1", "192.0.2.2"}, ttl: 300},
		{"imap.example", typeAAAA}: {values: []string{"2001:db8::1"}, ttl: 30},
		{"alias.example", typeA}:   {cname: "imap.example", values: []string{"192.0.2.1"}, ttl: 7},
		{"gone.example", typeA}:    {rcode: rcodeNXDomain},
		{"gone.example", typeAAAA}: {rcode: rcodeNXDomain},
		{"fail.example", typeA}:    {rcode: 2},
	})
	r := New([]string{dns.addr}, true, true, time.Second)
	addrs, ttl, err := r.LookupHost(context.Background(), "imap.example")
	if err != nil || fmt.Sprint(addrs) != "[192.0.2.1 192.0.2.2 2001:db8::1]" || ttl != 30*time.Second {
		t.Errorf("imap.example: %v %v %v", addrs, ttl, err)
	}
	v4 := New([]string{dns.addr}, true, false, time.Second)
	if addrs, ttl, err := v4.LookupHost(context.Background(), "imap.example."); err != nil || len(addrs) != 2 || ttl != 300*time.Second {
		t.Errorf("ipv4 only: %v %v %v", addrs, ttl, err)
	}
	if addrs, ttl, err := v4.LookupHost(context.Background(), "alias.example"); err != nil || len(addrs) != 1 || ttl != 7*time.Second {
		t.Errorf("alias: %v %v %v", addrs, ttl, err)
	}
	if _, _, err := r.LookupHost(context.Background(), "gone.example"); err == nil || err.Error() != `"gone.example" could not be resolved (3: Host not found)` {
		t.Errorf("gone: %v", err)
	}
	if _, _, err := v4.LookupHost(context.Background(), "fail.example"); err == nil || err.Error() != `"fail.example" could not be resolved (2: Server failure)` {
		t.Errorf("fail: %v", err)
	}
}

func TestTTLTopBit(t *testing.T) {
	if ttlOf(1<<31|5) != 0 || ttlOf(5) != 5 {
		t.Error("ttlOf")
	}
}
