package authhttp

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"mailproxy/internal/pkitest"
)

// Tests of what mailproxy adds to the auth_http protocol: answer headers
// beyond nginx, https://, several endpoints and the cache.

func TestResponseBeyondNginx(t *testing.T) {
	named := &Request{Method: MethodPlain, Protocol: "imap", User: "u", Pass: "p", ServerNames: true}
	tests := []struct {
		name string
		r    *Request
		head string
		want *Response
		err  string
	}{
		{"ssl backend on", imapPlain, okHeaders + "Auth-SSL-Backend: on\r\nAuth-SSL-Backend-Name: imap.example.com\r\n",
			&Response{Status: StatusOK, Server: backend, Upstream: "127.0.0.1:14001", SSLBackend: "on", SSLBackendName: "imap.example.com"}, ""},
		{"ssl backend starttls", imapPlain, okHeaders + "Auth-SSL-Backend: starttls\r\n",
			&Response{Status: StatusOK, Server: backend, Upstream: "127.0.0.1:14001", SSLBackend: "starttls"}, ""},
		{"ssl backend off", imapPlain, okHeaders + "Auth-SSL-Backend: off\r\n",
			&Response{Status: StatusOK, Server: backend, Upstream: "127.0.0.1:14001", SSLBackend: "off"}, ""},
		{"ssl backend bad", imapPlain, okHeaders + "Auth-SSL-Backend: yes\r\n", nil, `sent invalid Auth-SSL-Backend:"yes"`},
		{"ssl backend empty", imapPlain, okHeaders + "Auth-SSL-Backend:\r\n", nil, `sent invalid Auth-SSL-Backend:""`},
		{"ssl backend name bad", imapPlain, okHeaders + "Auth-SSL-Backend-Name: a..b\r\n", nil, `sent invalid Auth-SSL-Backend-Name:"a..b"`},
		{"ssl headers ignored on failure", imapPlain, "Auth-Status: no\r\nAuth-SSL-Backend: bogus\r\n", fail("no"), ""},
		{"host name refused without ServerNames", imapPlain, "Auth-Status: OK\r\nAuth-Server: imap1.example.com\r\nAuth-Port: 143\r\n", nil, `sent invalid server address:"imap1.example.com"`},
		{"host name with ServerNames", named, "Auth-Status: OK\r\nAuth-Server: imap1.example.com\r\nAuth-Port: 143\r\n",
			&Response{Status: StatusOK, Host: "imap1.example.com", Port: 143, Upstream: "imap1.example.com:143"}, ""},
		{"bad host name with ServerNames", named, "Auth-Status: OK\r\nAuth-Server: imap1$x\r\nAuth-Port: 143\r\n", nil, `sent invalid server address:"imap1$x"`},
		{"ip with ServerNames", named, okHeaders, okResp(), ""},
		{"cache ttl", imapPlain, okHeaders + "Auth-Cache-TTL: 30\r\n",
			&Response{Status: StatusOK, Server: backend, Upstream: "127.0.0.1:14001", CacheTTL: 30 * time.Second, HasCacheTTL: true}, ""},
		{"cache ttl not a number", imapPlain, okHeaders + "Auth-Cache-TTL: 1m\r\n",
			&Response{Status: StatusOK, Server: backend, Upstream: "127.0.0.1:14001", HasCacheTTL: true}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseResponse([]byte(statusLine+tc.head+"\r\n"), tc.r)
			if tc.err != "" {
				if err == nil || err.Error() != tc.err {
					t.Fatalf("got %+v, %v; want error %q", got, err, tc.err)
				}
				return
			}
			if err != nil || *got != *tc.want {
				t.Fatalf("got %+v, %v\nwant %+v", got, err, tc.want)
			}
		})
	}
}

func TestStatusCode(t *testing.T) {
	for in, want := range map[string]int{
		"HTTP/1.0 200 OK\r\n": 200, "HTTP/1.1 503 busy\r\n": 503, "HTTP/1.1 500\r\n": 500,
		"HTTP/1.0 5000 x\r\n": 0, "Auth-Status: OK\r\n": 0, "HTTP/1.0 abc\r\n": 0, "": 0,
	} {
		if got := statusCode([]byte(in)); got != want {
			t.Errorf("statusCode(%q) = %d, want %d", in, got, want)
		}
	}
}

// tlsAuthServer serves okAnswer over TLS with cert, counting connections.
func tlsAuthServer(t *testing.T, cert *pkitest.Cert, answer string) (addr string, conns *atomic.Int32) {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert.TLS()}})
	if err != nil {
		t.Fatal(err)
	}
	conns = new(atomic.Int32)
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			wg.Go(func() {
				defer c.Close()
				for {
					if _, err := readRequest(c); err != nil {
						return
					}
					if _, err := io.WriteString(c, answer); err != nil {
						return
					}
				}
			})
		}
	})
	return ln.Addr().String(), conns
}

func TestHTTPS(t *testing.T) {
	ca := pkitest.NewRoot(t, "auth CA")
	good := ca.Issue(pkitest.Spec{Hosts: []string{"127.0.0.1", "auth.test"}, Server: true})
	roots := x509.NewCertPool()
	roots.AddCert(ca.Cert)
	other := x509.NewCertPool()
	other.AddCert(pkitest.NewRoot(t, "another CA").Cert)
	addr, _ := tlsAuthServer(t, good, okAnswer)
	port := addr[strings.LastIndexByte(addr, ':')+1:]

	do := func(raw string, cfg *tls.Config) error {
		c, err := NewClient(mustURL(t, raw), 2*time.Second, nil)
		if err != nil {
			t.Fatal(err)
		}
		c.SetTLS(cfg)
		if !c.HTTPS() {
			t.Fatalf("%s: not an https client", raw)
		}
		_, err = c.Do(context.Background(), imapPlain)
		return err
	}
	if err := do("https://127.0.0.1:"+port+"/auth", &tls.Config{RootCAs: roots}); err != nil {
		t.Errorf("trusted CA: %v", err)
	}
	err := do("https://127.0.0.1:"+port+"/auth", &tls.Config{RootCAs: other})
	if transportKind(err) != HandshakeFailed || !strings.Contains(err.Error(), "SSL handshake failed") {
		t.Errorf("wrong CA: %v, want a handshake failure", err)
	}
	if err := do("https://127.0.0.1:"+port+"/auth", &tls.Config{RootCAs: other, InsecureSkipVerify: true}); err != nil {
		t.Errorf("verification off: %v", err)
	}
	if err := do("https://127.0.0.1:"+port+"/auth", nil); transportKind(err) != HandshakeFailed {
		t.Errorf("system roots: %v, want a handshake failure", err)
	}

	// The name is checked: a certificate for another name is refused.
	wrong := ca.Issue(pkitest.Spec{Hosts: []string{"elsewhere.test"}, Server: true})
	addr2, _ := tlsAuthServer(t, wrong, okAnswer)
	if err := do("https://"+addr2+"/auth", &tls.Config{RootCAs: roots}); transportKind(err) != HandshakeFailed || !strings.Contains(err.Error(), "127.0.0.1") {
		t.Errorf("wrong name: %v, want a handshake failure naming 127.0.0.1", err)
	}
}

func TestHTTPSKeepAlive(t *testing.T) {
	ca := pkitest.NewRoot(t, "auth CA")
	roots := x509.NewCertPool()
	roots.AddCert(ca.Cert)
	addr, conns := tlsAuthServer(t, ca.Issue(pkitest.Spec{Hosts: []string{"127.0.0.1"}, Server: true}),
		"HTTP/1.1 200 OK\r\nAuth-Status: OK\r\nAuth-Server: 127.0.0.1\r\nAuth-Port: 14001\r\nContent-Length: 0\r\n\r\n")
	c, err := NewClient(mustURL(t, "https://"+addr+"/auth"), 2*time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	c.SetTLS(&tls.Config{RootCAs: roots})
	c.SetKeepAlive(KeepAlive{MaxIdle: 2})
	defer c.CloseIdle()
	for i := range 5 {
		if _, err := c.Do(context.Background(), imapPlain); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("%d TLS connections for 5 requests, want 1 kept alive", n)
	}
}

// endpointServer answers every request with answer, or closes at once
// when answer is "".
func endpointServer(t *testing.T, answer string) (*authServer, string) {
	s := newAuthServer(t, "tcp", "127.0.0.1:0", func(c net.Conn) {
		if answer != "" {
			io.WriteString(c, answer)
		}
	})
	return s, "http://" + s.ln.Addr().String() + "/auth"
}

func TestEndpoints(t *testing.T) {
	// A port nothing listens on.
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	down := "http://" + ln.Addr().String() + "/auth"
	ln.Close()
	s503, u503 := endpointServer(t, "HTTP/1.1 503 Service Unavailable\r\nAuth-Status: OK\r\nAuth-Server: 127.0.0.2\r\nAuth-Port: 1\r\n\r\n")
	good, uGood := endpointServer(t, okAnswer)
	bad, uBad := endpointServer(t, "HTTP/1.0 200 OK\r\nAuth-Status: OK\r\n\r\n") // no server: nginx's internal error

	clients := func(raws ...string) []*Client {
		var cs []*Client
		for _, raw := range raws {
			c, err := NewClient(mustURL(t, raw), time.Second, nil)
			if err != nil {
				t.Fatal(err)
			}
			cs = append(cs, c)
		}
		return cs
	}
	type result struct{ endpoint, result string }
	var mu sync.Mutex
	var seen []result
	record := func(e *Endpoints) {
		e.OnResult = func(ep, r string, healthy bool) {
			mu.Lock()
			seen = append(seen, result{ep, r})
			mu.Unlock()
			if healthy != (r == "ok") {
				t.Errorf("%s %s: healthy %v", ep, r, healthy)
			}
		}
	}

	// A single endpoint is nginx: a 503 with good headers logs in.
	one := NewEndpoints(clients(u503), time.Minute)
	resp, addr, err := one.Do(context.Background(), imapPlain)
	if err != nil || resp.Status != StatusOK || resp.Upstream != "127.0.0.2:1" || addr != s503.ln.Addr().String() {
		t.Fatalf("single endpoint: %+v %s %v", resp, addr, err)
	}

	// Down, then 503, then good: the good one answers; the failed ones
	// are skipped next time.
	e := NewEndpoints(clients(down, u503, uGood), time.Minute)
	record(e)
	asked503 := len(s503.requests())
	for i := range 3 {
		resp, addr, err = e.Do(context.Background(), imapPlain)
		if err != nil || *resp != *okResp() || addr != good.ln.Addr().String() {
			t.Fatalf("request %d: %+v %s %v", i, resp, addr, err)
		}
	}
	if n := len(s503.requests()) - asked503; n != 1 {
		t.Errorf("the 503 endpoint was asked %d times, want once (then skipped)", n)
	}
	want := []result{{down, "error"}, {u503, "5xx"}, {uGood, "ok"}, {uGood, "ok"}, {uGood, "ok"}}
	if strings.Join(fmtResults(seen), " ") != strings.Join(fmtResults(want), " ") {
		t.Errorf("results %v, want %v", seen, want)
	}

	// A 503 page without Auth-* headers moves to the next one too.
	_, u503page := endpointServer(t, "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/html\r\n\r\n<h1>busy</h1>")
	if resp, _, err := NewEndpoints(clients(u503page, uGood), time.Minute).Do(context.Background(), imapPlain); err != nil || *resp != *okResp() {
		t.Errorf("503 page: %+v %v", resp, err)
	}

	// A refused answer is not a failure of the endpoint: no next one.
	e2 := NewEndpoints(clients(uBad, uGood), time.Minute)
	n := len(good.requests())
	if _, _, err := e2.Do(context.Background(), imapPlain); err == nil || !strings.Contains(err.Error(), "did not send server or port") {
		t.Errorf("bad answer: %v", err)
	}
	if len(good.requests()) != n || len(bad.requests()) != 1 {
		t.Errorf("a bad answer moved to the next endpoint")
	}

	// Every endpoint failed: the skipped ones are asked as a last
	// resort, and the last error is returned.
	e3 := NewEndpoints(clients(down, u503), 20*time.Millisecond)
	if _, _, err := e3.Do(context.Background(), imapPlain); err == nil || !strings.Contains(err.Error(), "answered with status 503") {
		t.Errorf("all failed: %v", err)
	}
	before := len(s503.requests())
	if _, _, err := e3.Do(context.Background(), imapPlain); err == nil {
		t.Errorf("all failed again: no error")
	}
	if len(s503.requests()) != before+1 {
		t.Errorf("skipped endpoints not asked as a last resort")
	}

	// A canceled context stops at once.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := e.Do(ctx, imapPlain); transportKind(err) != Canceled {
		t.Errorf("canceled: %v", err)
	}
}

func fmtResults[T any](rs []T) []string {
	var out []string
	for _, r := range rs {
		out = append(out, fmt.Sprint(r))
	}
	return out
}

func TestCache(t *testing.T) {
	c := NewCache(CacheOptions{MaxEntries: 3, OK: time.Minute, Fail: time.Minute, ClientIP: true})
	req := func(user, pass, ip string) *Request {
		return &Request{Method: MethodPlain, Protocol: "imap", User: user, Pass: pass, LoginAttempt: 1, ClientIP: ip}
	}
	ok := &Response{Status: StatusOK, Server: backend, Upstream: "127.0.0.1:14001", Pass: "pw", HasPass: true}
	a := req("alice", "pw", "192.0.2.1")
	if c.Get(a) != nil {
		t.Fatal("hit in an empty cache")
	}
	c.Put(a, ok)
	got := c.Get(req("alice", "pw", "192.0.2.1"))
	if got == nil || *got != *ok {
		t.Fatalf("hit: %+v, want %+v", got, ok)
	}
	// A later attempt number is the same login.
	a2 := req("alice", "pw", "192.0.2.1")
	a2.LoginAttempt = 3
	if c.Get(a2) == nil {
		t.Error("Auth-Login-Attempt is in the key")
	}
	for name, r := range map[string]*Request{
		"other password": req("alice", "pw2", "192.0.2.1"),
		"other user":     req("bob", "pw", "192.0.2.1"),
		"other client":   req("alice", "pw", "192.0.2.2"),
		"other protocol": {Method: MethodPlain, Protocol: "pop3", User: "alice", Pass: "pw", ClientIP: "192.0.2.1"},
		"tls":            {Method: MethodPlain, Protocol: "imap", User: "alice", Pass: "pw", ClientIP: "192.0.2.1", SSL: &SSLInfo{Protocol: "TLSv1.3"}},
	} {
		if c.Get(r) != nil {
			t.Errorf("%s: hit", name)
		}
	}
	// No password is kept: the answer's Auth-Pass is the client's.
	for _, el := range c.idx {
		e := el.Value.(*cacheEntry)
		if e.resp.Pass != "" || !e.passBack {
			t.Errorf("stored %+v", e.resp)
		}
	}

	// Never kept: WAIT, Auth-Wait, another Auth-Pass, a zero TTL, the
	// per-session methods, WAIT in force, failover requests.
	never := []struct {
		name string
		r    *Request
		resp *Response
	}{
		{"wait", req("w1", "p", "192.0.2.1"), &Response{Status: StatusWait}},
		{"auth-wait", req("w2", "p", "192.0.2.1"), &Response{Status: StatusFail, Text: "no", Wait: 2 * time.Second}},
		{"master password", req("w3", "p", "192.0.2.1"), &Response{Status: StatusOK, Server: backend, Pass: "master", HasPass: true}},
		{"ttl 0", req("w4", "p", "192.0.2.1"), &Response{Status: StatusOK, Server: backend, HasCacheTTL: true}},
		{"cram-md5", imapCRAM, okResp()},
		{"apop", pop3APOP, okResp()},
		{"external", imapExt, okResp()},
		{"waiting", imapWaitng, okResp()},
		{"failover", &Request{Method: MethodPlain, Protocol: "imap", User: "f", Pass: "p", FailedServer: "127.0.0.1:1"}, okResp()},
	}
	for _, n := range never {
		c.Put(n.r, n.resp)
		if c.Get(n.r) != nil {
			t.Errorf("%s: kept", n.name)
		}
	}
	// A refusal without Auth-Wait is kept.
	b := req("bob", "bad", "192.0.2.1")
	c.Put(b, fail("invalid login"))
	if got := c.Get(b); got == nil || got.Status != StatusFail || got.Text != "invalid login" {
		t.Errorf("refusal: %+v", got)
	}
	// Size bound: the least recently used entry makes way.
	c.Get(a)
	c.Put(req("carol", "x", "192.0.2.1"), okResp())
	c.Put(req("dave", "x", "192.0.2.1"), okResp())
	if c.Len() != 3 || c.Get(b) != nil || c.Get(a) == nil {
		t.Errorf("eviction: len %d, bob kept %v, alice kept %v", c.Len(), c.Get(b) != nil, c.Get(a) != nil)
	}
	c.Forget(a)
	if c.Get(a) != nil {
		t.Error("Forget kept the entry")
	}

	// Auth-Cache-TTL overrides the configured TTL; entries expire.
	short := NewCache(CacheOptions{OK: time.Hour})
	e := req("erin", "p", "192.0.2.1")
	short.Put(e, &Response{Status: StatusOK, Server: backend, CacheTTL: 50 * time.Millisecond, HasCacheTTL: true})
	if short.Get(e) == nil {
		t.Fatal("not kept")
	}
	time.Sleep(80 * time.Millisecond)
	if short.Get(e) != nil || short.Len() != 0 {
		t.Error("kept after its Auth-Cache-TTL")
	}
	// A zero configured TTL keeps nothing of that kind.
	none := NewCache(CacheOptions{OK: time.Minute})
	none.Put(b, fail("no"))
	if none.Get(b) != nil {
		t.Error("refusal kept with a zero TTL")
	}
	// Without ClientIP the address is not in the key.
	anyIP := NewCache(CacheOptions{OK: time.Minute})
	anyIP.Put(a, okResp())
	if anyIP.Get(req("alice", "pw", "198.51.100.7")) == nil {
		t.Error("client address in the key without ClientIP")
	}
	// Two caches have different keys.
	if NewCache(CacheOptions{}).key(a) == NewCache(CacheOptions{}).key(a) {
		t.Error("two caches share a key")
	}
}

func TestCacheConcurrent(t *testing.T) {
	c := NewCache(CacheOptions{MaxEntries: 50, OK: time.Minute})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 500 {
				r := &Request{Method: MethodPlain, Protocol: "imap", User: string(rune('a' + g)), Pass: itoa(i % 80)}
				if c.Get(r) == nil {
					c.Put(r, okResp())
				}
			}
		})
	}
	wg.Wait()
	if c.Len() > 50 {
		t.Errorf("%d entries, bound 50", c.Len())
	}
}

// BenchmarkCacheHit is a login answered from the cache; compare with
// BenchmarkAuthRoundTrip, the same answer from an auth service on
// loopback (without its own cost of checking a password).
func BenchmarkCacheHit(b *testing.B) {
	c := NewCache(CacheOptions{OK: time.Hour})
	r := &Request{Method: MethodPlain, Protocol: "imap", User: "alice", Pass: "secret", ClientIP: "192.0.2.1"}
	c.Put(r, okResp())
	b.ReportAllocs()
	for b.Loop() {
		if c.Get(r) == nil {
			b.Fatal("miss")
		}
	}
}

func BenchmarkAuthRoundTrip(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				for {
					if _, err := readRequest(c); err != nil {
						return
					}
					io.WriteString(c, "HTTP/1.1 200 OK\r\nAuth-Status: OK\r\nAuth-Server: 127.0.0.1\r\nAuth-Port: 14001\r\nContent-Length: 0\r\n\r\n")
				}
			}()
		}
	}()
	u, _ := ParseURL("http://" + ln.Addr().String() + "/auth")
	c, err := NewClient(u, time.Second, nil)
	if err != nil {
		b.Fatal(err)
	}
	c.SetKeepAlive(KeepAlive{MaxIdle: 4})
	defer c.CloseIdle()
	r := &Request{Method: MethodPlain, Protocol: "imap", User: "alice", Pass: "secret", ClientIP: "192.0.2.1"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Do(context.Background(), r); err != nil {
			b.Fatal(err)
		}
	}
}

var _ = errors.New
