package kvstore_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"mailproxy/internal/kvstore"
	"mailproxy/internal/kvstore/kvstoretest"
)

func TestValidate(t *testing.T) {
	for _, ok := range []string{"redis://127.0.0.1:6379/0", "rediss://cache.example:6380", "redis://u:p@[::1]:6379/2?pool_size=5"} {
		if err := kvstore.Validate(ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	for raw, want := range map[string]string{
		"http://127.0.0.1:6379":    "scheme",
		"127.0.0.1:6379":           "127.0.0.1:6379",
		"redis://":                 "no host",
		"redis://127.0.0.1:6379/x": "invalid database",
	} {
		err := kvstore.Validate(raw)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want an error with %q", raw, err, want)
		}
	}
}

// TestRealServerDownAndBack talks to a real redis-server, stops it, and
// checks that a call fails within the timeout and that the pool
// recovers by itself when the server is back.
func TestRealServerDownAndBack(t *testing.T) {
	srv := kvstoretest.Real(t)
	c, err := kvstore.Open(srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	if err := c.Set(ctx, "k", "v", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	srv.Stop()
	start := time.Now()
	if err := c.Get(ctx, "k").Err(); err == nil {
		t.Fatal("a call with the server stopped did not fail")
	}
	if d := time.Since(start); d > 5*kvstore.DefaultTimeout {
		t.Errorf("the failing call took %v", d)
	}
	srv.Start()
	var got error
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if got = c.Set(ctx, "k", "w", time.Minute).Err(); got == nil {
			break
		}
	}
	if got != nil {
		t.Fatalf("the pool did not recover: %v", got)
	}
}
