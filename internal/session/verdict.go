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
	if resp.Wait <= 0 {
		c.logRefusal(resp, user)
		write(reply)
		return ErrClosed
	}
	return c.Challenged(ctx, resp, user, reply, write)
}

// logRefusal logs a refused login under its user after Auth-User.
func (c *Conn) logRefusal(resp *authhttp.Response, user string) {
	if resp.HasUser {
		user = resp.User
	}
	c.Log.Info("client login failed", "reason", resp.Text, "login", user)
}

// Challenged handles a refused XOAUTH2 or OAUTHBEARER login whose answer
// carries Auth-Error-SASL, as freenginx does: after the Auth-Wait delay
// (if any; the client is not read meanwhile) the challenge is written and
// the session goes on (nil) whatever the delay, since the failure reply
// waits for the client's answer to the challenge. A client that hangs up
// during the delay ends the session at once (ErrClientGone).
func (c *Conn) Challenged(ctx context.Context, resp *authhttp.Response, user string, challenge []byte, write func([]byte) error) error {
	c.logRefusal(resp, user)
	if resp.Wait > 0 {
		if err := Hold(ctx, c.Conn, resp.Wait); err != nil {
			return err
		}
	}
	return write(challenge)
}
