package session

import (
	"context"
	"errors"
	"fmt"
	"time"

	"mailproxy/authhttp"
)

// ErrTooLong reports a command that does not fit the client buffer.
var ErrTooLong = errors.New("client sent too long command")

// ErrTooManyCommands reports a session that sent more than max_commands
// commands before login; it is an ErrClosed (the engine ended it on
// purpose).
var ErrTooManyCommands = fmt.Errorf("client sent too many commands: %w", ErrClosed)

// ErrLimited is what Conn.Authenticate returns for a login that a
// connection limit (limit_conn) refuses: the driver answers it with
// Replies.LimitConn and the session ends with this error.
var ErrLimited = errors.New("too many connections")

// Dialogue is what Run needs besides the connection.
type Dialogue struct {
	Core Core
	// Buf is the client buffer (imap_client_buffer and its kind), lent
	// for the dialogue. It is rewound only when every byte in it has been
	// consumed (nginx's rule, SPEC §3.3): its size bounds the unconsumed
	// pipelined bytes plus the command being read.
	Buf []byte
	// MaxErrors is max_errors: the session ends after this many parser
	// errors, the last one still answered.
	MaxErrors int
	// MaxCommands is max_commands: the command after this many (parser
	// errors not counted) is answered with Replies.TooManyCommands and
	// the session ends; 0 means no limit.
	MaxCommands int
	Replies     *Replies
}

// driver is Run's state: one pre-login dialogue.
type driver struct {
	ctx      context.Context
	c        *Conn
	d        Dialogue
	pos      int
	last     int
	deadline time.Time // the pre-auth deadline
	errors   int       // parser errors, for max_errors
	commands int       // commands taken, for max_commands
	attempt  int       // Auth-Login-Attempt
	// pending is the refusal whose Auth-Error-SASL challenge was sent:
	// the Core's answer to the client's next line settles it.
	pending *refusal
}

// refusal is a failure reply held back behind an Auth-Error-SASL
// challenge.
type refusal struct {
	reply []byte
	// quit: the answer had no Auth-Wait, the session ends once the
	// client's answer to the challenge is answered (freenginx's
	// auth_quit).
	quit bool
}

// Run drives d.Core on c from the greeting until the auth service accepts
// a login, which it returns, or until the session is over (every reply
// due has been sent; ErrClosed when the dialogue ended it on purpose,
// ErrTooLong for a command that does not fit the buffer). The pre-auth
// deadline (`timeout`) is armed at the greeting and after an Auth-Wait
// delay, never by commands; every write is bounded by `timeout`; the
// client is not read while the auth service decides. The caller owns and
// closes c.Conn and keeps d.Buf.
func Run(ctx context.Context, c *Conn, d Dialogue) (*Login, error) {
	x := &driver{ctx: ctx, c: c, d: d}
	if err := x.write(d.Core.Greeting()); err != nil {
		return nil, err
	}
	x.arm()
	a := Action{Do: Continue}
	for {
		if x.pos == x.last {
			x.pos, x.last = 0, 0
		}
		switch a.Do {
		case NeedMore, NeedMoreCompact:
			if x.last == len(x.d.Buf) {
				if a.Do != NeedMoreCompact || x.pos == 0 {
					a = d.Core.TooLong(x.d.Buf[x.pos:x.last])
					break
				}
				// Only consumed bytes fill the buffer: make room.
				x.last = copy(x.d.Buf, x.d.Buf[x.pos:x.last])
				x.pos = 0
			}
			if err := x.fill(); err != nil {
				return nil, err
			}
			a = x.next()
		case Continue:
			a = x.next()
		}
		if x.pending != nil && a.Do != NeedMore && a.Do != NeedMoreCompact {
			a = x.settle(a)
		}
		if a.Do == Refuse {
			a = Action{Do: End, Err: errors.New("refusal without an Auth-Error-SASL challenge")}
		}
		if err := x.write(a.Reply); err != nil {
			return nil, err
		}
		if a.Counted {
			x.errors++
			if x.errors >= d.MaxErrors {
				c.Log.Info("client sent too many invalid commands")
				return nil, ErrClosed
			}
		}
		switch a.Do {
		case End:
			return nil, a.Err
		case UpgradeTLS:
			if err := x.startTLS(); err != nil {
				return nil, err
			}
			if err := x.write(d.Core.TLSStarted()); err != nil {
				return nil, err
			}
			a = Action{Do: Continue}
		case Authenticate:
			l, err := x.authenticate(a.Auth, a.Tag)
			if l != nil || err != nil {
				return l, err
			}
			a = Action{Do: Continue}
		}
	}
}

// settle turns the Core's answer to the line after an Auth-Error-SASL
// challenge into the held-back failure reply (Refuse) or leaves its own
// reply (the protocol error), and ends the session after it when the
// refusal had no Auth-Wait.
func (x *driver) settle(a Action) Action {
	p := x.pending
	x.pending = nil
	if a.Do == Refuse {
		a.Reply, a.Do = p.reply, Continue
	}
	if p.quit && a.Do != End {
		a.Do, a.Err = End, ErrClosed
	}
	return a
}

// next gives the unconsumed bytes to the Core and counts the command it
// took for max_commands (nginx's ngx_mail_read_command).
func (x *driver) next() Action {
	n, a := x.d.Core.Next(x.d.Buf[x.pos:x.last])
	x.pos += n
	if n > 0 && !a.Counted && a.Do != NeedMore && a.Do != NeedMoreCompact {
		x.commands++
		if x.d.MaxCommands > 0 && x.commands > x.d.MaxCommands {
			x.c.Log.Info("client sent too many commands")
			return Action{Reply: x.tagged(a.Tag, x.d.Replies.TooManyCommands), Do: End, Err: ErrTooManyCommands}
		}
	}
	return a
}

// tagged prefixes text with tag and a space for a tagged protocol.
func (x *driver) tagged(tag, text []byte) []byte {
	if !x.d.Replies.Tagged {
		return text
	}
	if len(tag) == 0 {
		tag = []byte("*")
	}
	b := make([]byte, 0, len(tag)+1+len(text))
	return append(append(append(b, tag...), ' '), text...)
}

// arm starts the pre-auth deadline (SPEC §2.3).
func (x *driver) arm() {
	x.deadline = time.Now().Add(x.c.Timeout)
	x.c.Conn.SetReadDeadline(x.deadline)
}

// fill reads more client bytes after the buffered ones.
func (x *driver) fill() error {
	n, err := x.c.Conn.Read(x.d.Buf[x.last:])
	x.last += n
	if n > 0 {
		return nil
	}
	if err == nil {
		err = errors.New("empty read")
	}
	return err
}

// write sends b whole (nothing when b is empty), bounded by `timeout` as
// nginx's send timer is.
func (x *driver) write(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	x.c.Conn.SetWriteDeadline(time.Now().Add(x.c.Timeout))
	_, err := x.c.Conn.Write(b)
	return err
}

// startTLS discards every buffered plaintext byte (command injection,
// SPEC §8.2) and runs the handshake under the running pre-auth deadline.
func (x *driver) startTLS() error {
	x.pos, x.last = 0, 0
	if x.c.StartTLS == nil {
		return errors.New("STARTTLS without a TLS configuration")
	}
	if err := x.c.StartTLS(x.deadline); err != nil {
		return err
	}
	x.c.TLS = true
	x.c.Conn.SetReadDeadline(x.deadline)
	return nil
}

// authenticate sends one set of credentials to the auth service and acts
// on the verdict (SPEC §10.4): a login; a delayed refusal that keeps the
// session (nil, nil); or an error that ends it. tag is the login
// command's, for a refusal by a connection limit.
func (x *driver) authenticate(req *authhttp.Request, tag []byte) (*Login, error) {
	x.attempt++
	req.LoginAttempt = x.attempt
	// The client is not read while the auth service decides (SPEC §2.1).
	x.c.Conn.SetReadDeadline(time.Time{})
	resp, err := x.c.Authenticate(x.ctx, req)
	if errors.Is(err, ErrLimited) {
		x.write(x.tagged(tag, x.d.Replies.LimitConn))
		return nil, err
	}
	if err != nil {
		x.write(x.d.Replies.InternalError)
		return nil, err
	}
	switch resp.Status {
	case authhttp.StatusOK:
		l := NewLogin(resp, req.User, req.Pass)
		l.Pipelined = append([]byte(nil), x.d.Buf[x.pos:x.last]...)
		x.d.Core.Accepted(l, resp)
		return l, nil
	case authhttp.StatusFail:
		reply := x.d.Core.Refused(resp)
		if resp.HasErrorSASL {
			if challenge := x.d.Core.SASLError(resp.ErrorSASL); challenge != nil {
				if err := x.c.Challenged(x.ctx, resp, req.User, challenge, x.write); err != nil {
					return nil, err
				}
				x.pending = &refusal{reply: reply, quit: resp.Wait <= 0}
				x.arm()
				return nil, nil
			}
		}
		if err := x.c.Refused(x.ctx, resp, req.User, reply, x.write); err != nil {
			return nil, err
		}
		x.arm()
		return nil, nil
	}
	x.write(x.d.Replies.InternalError)
	return nil, fmt.Errorf("%s: unexpected auth status %d", req.Protocol, resp.Status)
}
