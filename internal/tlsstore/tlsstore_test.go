package tlsstore

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509/pkix"
	"encoding/hex"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"mailproxy/internal/kvstore"
	"mailproxy/internal/kvstore/kvstoretest"
	"mailproxy/internal/mailtest"
	"mailproxy/internal/pkitest"
	mailtls "mailproxy/tls"
)

// TestTimeoutIsTheStoresTimeout: the tls package bounds each store call by
// the store's own timeout.
func TestTimeoutIsTheStoresTimeout(t *testing.T) {
	if mailtls.StoreTimeout != kvstore.DefaultTimeout {
		t.Fatalf("mailtls.StoreTimeout %v, kvstore.DefaultTimeout %v", mailtls.StoreTimeout, kvstore.DefaultTimeout)
	}
}

// instance builds the TLS configuration one mailproxy instance would from
// the shared files and the store URL, with a pool of its own.
func instance(t *testing.T, settings mailtls.Settings, url string) (*tls.Config, *mailtls.Sessions) {
	t.Helper()
	st, err := New(url)
	if err != nil {
		t.Fatal(err)
	}
	settings.SessionStore = st
	cfg, _, sessions, err := new(mailtls.Loader).ServerConfigSessions(settings)
	if err != nil || sessions == nil {
		t.Fatalf("%v %v", sessions, err)
	}
	return cfg, sessions
}

// files writes a certificate, its key and a ticket key file.
func files(t *testing.T, fill byte) mailtls.Settings {
	dir := t.TempDir()
	c := pkitest.SelfSigned(t, pkitest.Spec{Subject: pkix.Name{CommonName: "mail.example"}, DNSNames: []string{"mail.example"}, Server: true})
	return mailtls.Settings{
		Certificates:          []string{pkitest.Write(t, dir, "c.pem", c.CertPEM)},
		Keys:                  []string{pkitest.Write(t, dir, "k.pem", c.KeyPEM)},
		SessionTicketKeys:     []string{pkitest.Write(t, dir, "ticket.key", bytes.Repeat([]byte{fill}, 80))},
		DisableSessionTickets: true,
		SessionTimeout:        time.Minute,
	}
}

// handshake connects cli to srv over loopback and returns the client's
// state (the server writes a byte so that a TLS 1.3 client reads the
// ticket).
func handshake(t *testing.T, srv, cli *tls.Config) tls.ConnectionState {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan error, 1)
	go func() {
		a, err := ln.Accept()
		if err != nil {
			done <- err
			return
		}
		defer a.Close()
		a.SetDeadline(time.Now().Add(5 * time.Second))
		s := tls.Server(a, srv)
		if err := s.Handshake(); err != nil {
			done <- err
			return
		}
		_, err = s.Write([]byte{'x'})
		done <- err
	}()
	b, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	c := tls.Client(b, cli)
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	return c.ConnectionState()
}

// secrets returns the secret bytes of every line of an NSS key log.
func secrets(t *testing.T, keyLog string) [][]byte {
	var out [][]byte
	for _, line := range strings.Split(strings.TrimSpace(keyLog), "\n") {
		f := strings.Fields(line)
		if len(f) != 3 {
			continue
		}
		b, err := hex.DecodeString(f[2])
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// TestInstancesShareSessions: two instances (two configurations, two
// pools) on one real redis-server resume each other's sessions; what the
// store holds, under mailproxy:tls:, is sealed: no logged secret in
// clear, not a session state, and an instance with another ticket key
// opens none of it.
func TestInstancesShareSessions(t *testing.T) {
	redis := kvstoretest.Real(t)
	s := files(t, 't')
	a, _ := instance(t, s, redis.URL)
	b, _ := instance(t, s, redis.URL)
	for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		log := &mailtest.SyncBuffer{}
		cli := &tls.Config{InsecureSkipVerify: true, ServerName: "mail.example", ClientSessionCache: tls.NewLRUClientSessionCache(4), MaxVersion: v, KeyLogWriter: log}
		if cs := handshake(t, a, cli); cs.DidResume {
			t.Fatal("first handshake resumed")
		}
		if cs := handshake(t, b, cli); !cs.DidResume {
			t.Fatalf("version %x: instance b did not resume instance a's session", v)
		}
		if cs := handshake(t, a, cli); !cs.DidResume {
			t.Fatalf("version %x: instance a did not resume instance b's session", v)
		}
		raw := rawValues(t, redis.URL)
		if len(raw) == 0 {
			t.Fatal("nothing stored")
		}
		for _, val := range raw {
			if _, err := tls.ParseSessionState(val); err == nil {
				t.Fatal("a plain session state in the store")
			}
			for _, secret := range secrets(t, log.String()) {
				if bytes.Contains(val, secret) {
					t.Fatalf("version %x: a secret of the connection in clear in the store", v)
				}
			}
		}
	}

	// Another ticket key: the same store, nothing opens.
	other := files(t, 'o')
	other.Certificates, other.Keys = s.Certificates, s.Keys
	c, _ := instance(t, other, redis.URL)
	cli := &tls.Config{InsecureSkipVerify: true, ServerName: "mail.example", ClientSessionCache: tls.NewLRUClientSessionCache(4)}
	handshake(t, a, cli)
	if cs := handshake(t, c, cli); cs.DidResume {
		t.Fatal("an instance with another ticket key opened a stored session")
	}
	// c's session (its key) does not open on b either; b's opens on a.
	if cs := handshake(t, b, cli); cs.DidResume {
		t.Fatal("instance b opened a session sealed with another ticket key")
	}
	if cs := handshake(t, a, cli); !cs.DidResume {
		t.Fatal("instance a did not resume instance b's session")
	}
}

// rawValues reads every value under Prefix straight from the store,
// checking each has a TTL no longer than ssl_session_timeout.
func rawValues(t *testing.T, url string) [][]byte {
	t.Helper()
	c, err := kvstore.Open(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	keys, err := c.Keys(ctx, "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for _, k := range keys {
		if !strings.HasPrefix(k, Prefix) || len(k) != len(Prefix)+32 {
			t.Fatalf("key %q", k)
		}
		if ttl := c.PTTL(ctx, k).Val(); ttl <= 0 || ttl > time.Minute {
			t.Fatalf("%s: TTL %v", k, ttl)
		}
		v, err := c.Get(ctx, k).Bytes()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	return out
}

// TestStoreDown: with the store stopped, handshakes are full ones, each
// failure reported; once it is back, sessions resume again.
func TestStoreDown(t *testing.T) {
	redis := kvstoretest.Real(t)
	s := files(t, 't')
	srv, sessions := instance(t, s, redis.URL)
	var mu sync.Mutex
	var reported []string
	sessions.OnError(func(op string, err error) {
		mu.Lock()
		defer mu.Unlock()
		reported = append(reported, fmt.Sprintf("%s: %v", op, err))
	})
	cli := &tls.Config{InsecureSkipVerify: true, ServerName: "mail.example", ClientSessionCache: tls.NewLRUClientSessionCache(4)}
	handshake(t, srv, cli)
	redis.Stop()
	start := time.Now()
	if cs := handshake(t, srv, cli); cs.DidResume {
		t.Fatal("resumed with the store down")
	}
	t.Logf("full handshake with the store down: %v", time.Since(start))
	mu.Lock()
	if len(reported) != 1 || !strings.HasPrefix(reported[0], "get: ") {
		t.Fatalf("reported: %q (the put after a failed get is skipped)", reported)
	}
	mu.Unlock()
	redis.Start()
	time.Sleep(mailtls.StoreRetryAfter)
	handshake(t, srv, cli)
	if cs := handshake(t, srv, cli); !cs.DidResume {
		t.Fatal("not resumed once the store is back")
	}
}

// TestSharedPool: one pool per URL while in use.
func TestSharedPool(t *testing.T) {
	_, url := kvstoretest.Mini(t)
	a, err := Shared(url)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Shared(url)
	if a != b {
		t.Fatal("two pools for one URL")
	}
	if _, err := Shared("http://x"); err == nil {
		t.Fatal("bad URL accepted")
	}
	ctx := context.Background()
	if v, err := a.Get(ctx, "missing"); v != nil || err != nil {
		t.Fatalf("missing: %q %v", v, err)
	}
	a.Put(ctx, "id", []byte("v"), time.Minute)
	if v, _ := b.Get(ctx, "id"); string(v) != "v" {
		t.Fatalf("%q", v)
	}
}
