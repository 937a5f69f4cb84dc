package pop3

import (
	"errors"
	"net"
	"testing"
	"time"

	"mailproxy/authhttp"
	"mailproxy/internal/session"
)

// TestAuthFailureCloses: without Auth-Wait the failure text is sent at
// once and the session ends (SPEC §10.4).
func TestAuthFailureCloses(t *testing.T) {
	for _, text := range []string{"Invalid login or password", ""} {
		auth := &fakeAuth{Answers: []*authhttp.Response{fail(text, 0)}}
		e := serve(t, Options{}, auth)
		e.Play("S: +OK POP3 ready\r\n", "C: USER u\r\nPASS p\r\n", "S: +OK\r\n", "S: -ERR "+text+"\r\n")
		e.CloseWith(session.ErrClosed)
	}
}

// TestAuthWaitKeepsSession: with Auth-Wait the reply is delayed, the
// session goes back to "start" (USER forgotten), input sent meanwhile is
// then processed, and the next attempt counts 2 (SPEC §10.4).
func TestAuthWaitKeepsSession(t *testing.T) {
	auth := &fakeAuth{Answers: []*authhttp.Response{fail("Try again", 500*time.Millisecond), ok("127.0.0.1:110")}}
	e := serve(t, Options{}, auth)
	e.Play("S: +OK POP3 ready\r\n", "C: USER u\r\nPASS p\r\n", "S: +OK\r\n")
	start := time.Now()
	e.Play("C: PASS again\r\n") // sent during the delay
	e.Play("S: -ERR Try again\r\n")
	if d := time.Since(start); d < 400*time.Millisecond {
		t.Fatalf("failure reply after %v, before Auth-Wait", d)
	}
	e.Play("S: -ERR invalid command\r\n") // USER was forgotten
	e.Play("C: USER u\r\n", "S: +OK\r\n", "C: PASS p2\r\n")
	l := e.Login()
	reqs := auth.Requests()
	if l.Pass != "p2" || reqs[1].LoginAttempt != 2 || reqs[1].Pass != "p2" {
		t.Fatalf("login %+v, second request %+v", l, reqs[1])
	}
}

// TestAuthWaitResetsSASL: a failed SASL attempt with Auth-Wait leaves the
// session in "start", where the next line is a command again.
func TestAuthWaitResetsSASL(t *testing.T) {
	auth := &fakeAuth{Answers: []*authhttp.Response{fail("No", 100*time.Millisecond)}}
	e := serve(t, Options{}, auth)
	e.Play("S: +OK POP3 ready\r\n", "C: AUTH PLAIN\r\n", "S: + \r\n", "C: AHUAcA==\r\n", "S: -ERR No\r\n",
		"C: NOOP\r\n", "S: +OK\r\n")
}

// TestAuthServiceError: a failing auth request gets the internal error.
func TestAuthServiceError(t *testing.T) {
	e := serve(t, Options{}, &fakeAuth{})
	e.Play("S: +OK POP3 ready\r\n", "C: USER u\r\nPASS p\r\n", "S: +OK\r\n", "S: -ERR internal server error\r\n")
	res := e.Result()
	if res.Err == nil || res.Login != nil {
		t.Fatalf("%+v %v", res.Login, res.Err)
	}
}

// TestPreauthDeadline: the `timeout` deadline runs from the greeting and
// commands do not extend it (SPEC §2.3); an Auth-Wait failure re-arms it.
func TestPreauthDeadline(t *testing.T) {
	// Generous margins: the machine may be loaded. Commands spread over
	// 1.5 s do not push a 2 s deadline (re-armed it would end at 3.5 s).
	short := func(c *session.Conn) { c.Timeout = 2 * time.Second }
	e := serve(t, Options{}, &fakeAuth{}, short)
	start := time.Now()
	e.Play("S: +OK POP3 ready\r\n")
	var last time.Time
	for range 3 {
		time.Sleep(500 * time.Millisecond)
		e.Play("C: NOOP\r\n", "S: +OK\r\n")
		last = time.Now()
	}
	res := e.Result()
	var ne net.Error
	if !errors.As(res.Err, &ne) || !ne.Timeout() {
		t.Fatalf("err = %v", res.Err)
	}
	// Not re-armed by the commands: the deadline falls about 0.5 s after
	// the last one (2 s after a re-arming one), whatever delays the load
	// adds before it is noticed.
	if d := time.Since(start); d < 1900*time.Millisecond {
		t.Fatalf("timed out after %v", d)
	}
	if d := time.Since(last); d >= 1900*time.Millisecond {
		t.Fatalf("timed out %v after the last command: the commands re-armed the deadline", d)
	}

	// An Auth-Wait delay re-arms the deadline when it ends.
	auth := &fakeAuth{Answers: []*authhttp.Response{fail("No", 1500*time.Millisecond)}}
	e = serve(t, Options{}, auth, short)
	e.Play("S: +OK POP3 ready\r\n", "C: USER u\r\nPASS p\r\n", "S: +OK\r\n", "S: -ERR No\r\n")
	rearmed := time.Now()
	time.Sleep(1 * time.Second) // past the greeting's deadline, not the new one
	e.Play("C: NOOP\r\n", "S: +OK\r\n")
	e.Result()
	if d := time.Since(rearmed); d < 1900*time.Millisecond {
		t.Fatalf("re-armed deadline expired after %v", d)
	}
}

// TestClientGoesAway: EOF before credentials ends Serve with an error.
func TestClientGoesAway(t *testing.T) {
	e := serve(t, Options{}, &fakeAuth{})
	e.Play("S: +OK POP3 ready\r\n", "C: USER u\r\n", "S: +OK\r\n")
	e.C.Close()
	if res := e.Result(); res.Err == nil {
		t.Fatal("no error after EOF")
	}
}
