package session

import (
	"context"

	"mailproxy/authhttp"
)

// NewLogin is the login for an accepted auth response: the backend it
// names, and the user and password for the backend after the response's
// Auth-User and Auth-Pass overrides (SPEC §10.2). The front end adds what
// is its own (tag, pipelined bytes, SMTP facts).
func NewLogin(resp *authhttp.Response, user, pass string) *Login {
	if resp.HasUser {
		user = resp.User
	}
	if resp.HasPass {
		pass = resp.Pass
	}
	return &Login{
		Backend: resp.Server, Host: resp.Host, Port: resp.Port, Upstream: resp.Upstream, User: user, Pass: pass,
		SSLBackend: resp.SSLBackend, SSLBackendName: resp.SSLBackendName,
	}
}

// Refused handles a refused login the way nginx does for every protocol
// (SPEC §10.4): with a positive Auth-Wait nothing is sent (and the client
// is not read) for that long, then reply is written and the session goes
// on (nil); without one, reply is written and the session ends
// (ErrClosed). A client that hangs up during the delay ends the session
// at once (ErrClientGone, see Hold). user is the name for the log line,
// after Auth-User.
func (c *Conn) Refused(ctx context.Context, resp *authhttp.Response, user string, reply []byte, write func([]byte) error) error {
	if resp.HasUser {
		user = resp.User
	}
	c.Log.Info("client login failed", "reason", resp.Text, "login", user)
	if resp.Wait <= 0 {
		write(reply)
		return ErrClosed
	}
	if err := Hold(ctx, c.Conn, resp.Wait); err != nil {
		return err
	}
	return write(reply)
}
