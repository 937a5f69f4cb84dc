package authhttp

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"time"
)

// DefaultFailTimeout is how long an auth endpoint that failed is skipped
// when Endpoints is given no time.
const DefaultFailTimeout = 10 * time.Second

// Endpoints asks one of several auth services (a list of auth_http URLs,
// beyond nginx), in order. It is safe for concurrent use.
//
// With one Client, Do is exactly that Client's Do: nginx's behaviour,
// where the status code is never looked at. With several, an endpoint
// fails when it cannot be reached, times out, fails the TLS handshake,
// closes before the end of the header block, or answers with a 5xx
// status; Do then asks the next one, and the failed endpoint is skipped
// for the fail timeout (passive health). Endpoints being skipped are
// still asked, in order, when every other one failed. An answer that
// nginx would refuse (a bad header, no Auth-Server…) is not a failure of
// the endpoint: it is returned at once, as is a canceled ctx.
type Endpoints struct {
	eps         []endpoint
	failTimeout time.Duration
	// OnResult, when not nil, is told each endpoint's result: "ok" (an
	// answer, even a refusal), "error" (unreachable, timed out, closed
	// early, TLS failure) or "5xx"; and whether the endpoint is now
	// healthy. Set it before the first Do.
	OnResult func(endpoint, result string, healthy bool)
}

type endpoint struct {
	c     *Client
	name  string
	until atomic.Int64 // UnixNano before which the endpoint is skipped
}

// NewEndpoints asks clients in order (at least one); a failed endpoint
// is skipped for failTimeout (≤ 0: DefaultFailTimeout).
func NewEndpoints(clients []*Client, failTimeout time.Duration) *Endpoints {
	if failTimeout <= 0 {
		failTimeout = DefaultFailTimeout
	}
	e := &Endpoints{eps: make([]endpoint, len(clients)), failTimeout: failTimeout}
	for i, c := range clients {
		e.eps[i].c = c
		e.eps[i].name = c.Endpoint()
	}
	return e
}

// Clients returns the clients in order.
func (e *Endpoints) Clients() []*Client {
	out := make([]*Client, len(e.eps))
	for i := range e.eps {
		out[i] = e.eps[i].c
	}
	return out
}

// Names returns each endpoint's name (Client.Endpoint), in order.
func (e *Endpoints) Names() []string {
	out := make([]string, len(e.eps))
	for i := range e.eps {
		out[i] = e.eps[i].name
	}
	return out
}

// CloseIdle closes the kept connections of every endpoint.
func (e *Endpoints) CloseIdle() {
	for i := range e.eps {
		e.eps[i].c.CloseIdle()
	}
}

// Do asks the endpoints as the type describes and returns the first
// usable answer. addr is the auth server that gave it, or that failed
// last (Client.Addr), for log lines.
func (e *Endpoints) Do(ctx context.Context, r *Request) (resp *Response, addr string, err error) {
	if len(e.eps) == 1 {
		c := e.eps[0].c
		resp, err := c.Do(ctx, r)
		return resp, c.Addr(), err
	}
	now := time.Now().UnixNano()
	order := make([]*endpoint, 0, len(e.eps))
	for i := range e.eps {
		if e.eps[i].until.Load() <= now {
			order = append(order, &e.eps[i])
		}
	}
	for i := range e.eps {
		if e.eps[i].until.Load() > now {
			order = append(order, &e.eps[i]) // last resort
		}
	}
	for _, ep := range order {
		resp, code, err := ep.c.do(ctx, r)
		addr = ep.c.Addr()
		switch {
		case err != nil && ctx.Err() != nil:
			return nil, addr, err
		case code >= 500 && code <= 599:
			// Whatever the answer holds: an overloaded service's 503
			// page has no Auth-* headers.
			err = &ResponseError{Kind: ServerError, Value: itoa(code)}
		case err != nil && endpointFailed(err):
		default:
			ep.until.Store(0)
			e.report(ep, "ok", true)
			return resp, addr, err
		}
		ep.until.Store(time.Now().Add(e.failTimeout).UnixNano())
		result := "error"
		if _, ok := err.(*ResponseError); ok {
			result = "5xx"
		}
		e.report(ep, result, false)
		if ep == order[len(order)-1] {
			return nil, addr, err
		}
	}
	return nil, addr, errors.New("authhttp: no endpoint")
}

func (e *Endpoints) report(ep *endpoint, result string, healthy bool) {
	if e.OnResult != nil {
		e.OnResult(ep.name, result, healthy)
	}
}

// endpointFailed reports a transport failure that moves to the next
// endpoint.
func endpointFailed(err error) bool {
	var te *TransportError
	if !errors.As(err, &te) {
		return false
	}
	switch te.Kind {
	case TimedOut, ConnectFailed, SendFailed, RecvFailed, ClosedEarly, HandshakeFailed:
		return true
	}
	return false
}

// Endpoint names the client's auth service in metrics: the URL as
// written without its query string (which may hold a secret).
func (c *Client) Endpoint() string {
	s := c.raw
	if i := strings.IndexByte(s, '?'); i >= 0 {
		s = s[:i]
	}
	return s
}

func itoa(n int) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			return string(b[i:])
		}
	}
}
