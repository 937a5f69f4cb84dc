package pop3

import (
	"fmt"
	"time"

	"mailproxy/authhttp"
	"mailproxy/internal/session"
)

// Auth methods as Auth-Method spells them.
const (
	methodPlain    = authhttp.MethodPlain
	methodAPOP     = authhttp.MethodAPOP
	methodCRAMMD5  = authhttp.MethodCRAMMD5
	methodExternal = authhttp.MethodExternal
)

// authenticate sends one set of credentials to the auth service and acts
// on the verdict (SPEC §10.4): a login, a delayed failure that keeps the
// session, or a failure that ends it. The salt goes with apop and
// cram-md5 only (HEAD behaviour, SPEC §14). Whatever the verdict, the
// session is back in state "start" (USER and SASL state forgotten).
func (x *conn) authenticate(method, user, pass string) (*session.Login, error) {
	x.state = stateStart
	x.attempt++
	req := &authhttp.Request{
		Method:       method,
		User:         user,
		Pass:         pass,
		Protocol:     "pop3",
		LoginAttempt: x.attempt,
	}
	if method == methodAPOP || method == methodCRAMMD5 {
		req.Salt = x.salt
	}
	// The client is not read while the auth service decides (SPEC §2.1).
	x.c.Conn.SetReadDeadline(time.Time{})
	resp, err := x.c.Authenticate(x.ctx, req)
	if err != nil {
		x.write(InternalError)
		return nil, err
	}
	switch resp.Status {
	case authhttp.StatusOK:
		l := session.NewLogin(resp, user, pass)
		l.Pipelined = append([]byte(nil), x.buf[x.pos:x.last]...)
		return l, nil
	case authhttp.StatusFail:
		reply := []byte("-ERR " + resp.Text + "\r\n")
		if err := x.c.Refused(x.ctx, resp, user, reply, func(b []byte) error { return x.write(b) }); err != nil {
			return nil, err
		}
		x.arm()
		return nil, nil
	}
	x.write(InternalError)
	return nil, fmt.Errorf("pop3: unexpected auth status %d", resp.Status)
}
