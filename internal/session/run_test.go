package session

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"mailproxy/authhttp"
)

// lineCore is a minimal Core for the engine's own tests: each line is a
// command; "login" asks the auth service, "ack" acknowledges an
// Auth-Error-SASL challenge, "refuse" claims one without any, "bad" is a
// parser error; anything else is echoed.
type lineCore struct{ challenged bool }

func (*lineCore) Greeting() []byte                    { return []byte("hello\r\n") }
func (*lineCore) TooLong([]byte) Action               { return Action{Do: End, Err: ErrTooLong} }
func (*lineCore) TLSStarted() []byte                  { return nil }
func (*lineCore) Accepted(*Login, *authhttp.Response) {}
func (*lineCore) Refused(resp *authhttp.Response) []byte {
	return []byte("no " + resp.Text + "\r\n")
}
func (x *lineCore) SASLError(text string) []byte {
	x.challenged = true
	return []byte("+ " + text + "\r\n")
}

func (x *lineCore) Next(in []byte) (int, Action) {
	i := strings.IndexByte(string(in), '\n')
	if i < 0 {
		return 0, Action{Do: NeedMore}
	}
	switch line := strings.TrimSpace(string(in[:i])); {
	case line == "login":
		return i + 1, Action{Do: Authenticate, Auth: &authhttp.Request{Method: authhttp.MethodXOAUTH2, Protocol: "test"}}
	case line == "ack" && x.challenged, line == "refuse":
		x.challenged = false
		return i + 1, Action{Do: Refuse}
	case line == "bad":
		x.challenged = false
		return i + 1, Action{Reply: []byte("bad\r\n"), Counted: true}
	default:
		return i + 1, Action{Reply: []byte("echo " + line + "\r\n")}
	}
}

// runLines runs lineCore with the auth service's answers and returns the
// client end's reader, a writer, and the result channel.
func runLines(t *testing.T, answers ...*authhttp.Response) (*bufio.Reader, io.Writer, chan error) {
	t.Helper()
	server, client := tcpPair(t)
	c := &Conn{
		Conn: server, Timeout: 5 * time.Second, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Authenticate: func(context.Context, *authhttp.Request) (*authhttp.Response, error) {
			a := answers[0]
			answers = answers[1:]
			return a, nil
		},
	}
	done := make(chan error, 1)
	go func() {
		_, err := Run(context.Background(), c, Dialogue{Core: &lineCore{}, Buf: make([]byte, 256), MaxErrors: 3, Replies: &Replies{}})
		server.Close() // as the proxy does
		done <- err
	}()
	r := bufio.NewReader(client)
	client.SetReadDeadline(time.Now().Add(5 * time.Second))
	return r, client, done
}

func expectLines(t *testing.T, r *bufio.Reader, want ...string) {
	t.Helper()
	for _, w := range want {
		if got, err := r.ReadString('\n'); got != w {
			t.Fatalf("got %q (%v), want %q", got, err, w)
		}
	}
}

func challenge(wait time.Duration) *authhttp.Response {
	return &authhttp.Response{Status: authhttp.StatusFail, Text: "nope", Wait: wait, ErrorSASL: "e30=", HasErrorSASL: true}
}

// TestChallengeSettles: the line after an Auth-Error-SASL challenge gets
// the held-back refusal (acknowledged) or the Core's own reply, counted
// when it is a parser error; without Auth-Wait the session then ends,
// with it the dialogue goes on.
func TestChallengeSettles(t *testing.T) {
	r, w, done := runLines(t, challenge(0))
	expectLines(t, r, "hello\r\n")
	io.WriteString(w, "login\r\n")
	expectLines(t, r, "+ e30=\r\n")
	io.WriteString(w, "ack\r\nnever read\r\n")
	expectLines(t, r, "no nope\r\n")
	if err := <-done; !errors.Is(err, ErrClosed) {
		t.Fatalf("Run: %v, want ErrClosed", err)
	}

	r, w, done = runLines(t, challenge(10*time.Millisecond), challenge(10*time.Millisecond))
	expectLines(t, r, "hello\r\n")
	io.WriteString(w, "login\r\nbad\r\nlogin\r\nack\r\nping\r\nbad\r\nbad\r\n")
	expectLines(t, r, "+ e30=\r\n", "bad\r\n", "+ e30=\r\n", "no nope\r\n", "echo ping\r\n", "bad\r\n", "bad\r\n")
	if err := <-done; !errors.Is(err, ErrClosed) { // the third parser error
		t.Fatalf("Run: %v, want ErrClosed", err)
	}
}

// TestRefuseWithoutChallenge: a Core that asks for a refusal nobody holds
// back ends the session with an error, sending nothing.
func TestRefuseWithoutChallenge(t *testing.T) {
	r, w, done := runLines(t)
	expectLines(t, r, "hello\r\n")
	io.WriteString(w, "refuse\r\n")
	if err := <-done; err == nil || errors.Is(err, ErrClosed) {
		t.Fatalf("Run: %v, want an error", err)
	}
	if b, err := r.ReadByte(); err == nil {
		t.Fatalf("sent %q", b)
	}
}
