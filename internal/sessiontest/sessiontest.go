// Package sessiontest holds what the front ends' tests share: a loopback
// TCP pair to run a dialogue over, and a scripted auth service standing in
// for session.Conn.Authenticate.
package sessiontest

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"mailproxy/authhttp"
)

// TCPPair returns the two ends of a loopback TCP connection, closed when
// the test ends.
func TCPPair(t testing.TB) (client, server net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ch := make(chan net.Conn, 1)
	go func() { c, _ := ln.Accept(); ch <- c }()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server = <-ch
	t.Cleanup(func() { client.Close(); server.Close() })
	return client, server
}

// FakeAuth records every request and answers them with Answers, in order;
// a request beyond them gets an error (the front end's internal error).
type FakeAuth struct {
	mu      sync.Mutex
	reqs    []authhttp.Request
	Answers []*authhttp.Response
}

// Do is a session.Conn.Authenticate.
func (f *FakeAuth) Do(_ context.Context, r *authhttp.Request) (*authhttp.Response, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reqs = append(f.reqs, *r)
	if len(f.Answers) == 0 {
		return nil, errors.New("no scripted answer")
	}
	a := f.Answers[0]
	f.Answers = f.Answers[1:]
	return a, nil
}

// Requests returns a copy of the requests received so far.
func (f *FakeAuth) Requests() []authhttp.Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]authhttp.Request(nil), f.reqs...)
}

// OK is an accepting answer naming the backend addr ("IP:PORT").
func OK(addr string) *authhttp.Response {
	return &authhttp.Response{Status: authhttp.StatusOK, Server: netip.MustParseAddrPort(addr), Upstream: addr}
}

// Fail is a refusal with text, delayed by wait when positive.
func Fail(text string, wait time.Duration) *authhttp.Response {
	return &authhttp.Response{Status: authhttp.StatusFail, Text: text, Wait: wait}
}
