package authhttp

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"time"
)

// DefaultTimeout is nginx's auth_http_timeout default, used when NewClient
// gets a timeout ≤ 0.
const DefaultTimeout = 60 * time.Second

// Client sends auth_http requests to one auth server. Make it with
// NewClient. It is safe for concurrent use; it keeps no connection between
// calls unless SetKeepAlive turned reuse on.
type Client struct {
	// Dial, when not nil, replaces net.Dialer.DialContext for opening the
	// connection to the auth server (tests, source address). It must
	// honour ctx, whose deadline is the end of the client's timeout. Set
	// it before the first Do.
	Dial func(ctx context.Context, network, address string) (net.Conn, error)
	// Reuse, when not nil, decides whether a kept connection may carry a
	// request made with ctx (a connection tied to another event loop may
	// not; it stays kept for a request that may). It is called with the
	// pool locked and must not block.
	Reuse func(ctx context.Context, conn net.Conn) bool

	t       target
	raw     string // the URL as written
	timeout time.Duration
	prefix  []byte      // request line and Host line
	suffix  []byte      // custom headers, keep-alive header, the empty line
	pool    *pool       // nil: a new connection per request, as nginx
	tls     *tls.Config // https:// only: the TLS client settings, ServerName set
}

// NewClient returns a client for the auth server at u (see ParseURL). A
// host name is resolved here, once, and only its first address is used,
// as nginx does at configuration time; a name that does not resolve is a
// *URLError ("host not found"). The Host header is u.Host().
//
// timeout bounds each Do from the start of the connect to the end of the
// answer's header block; ≤ 0 means DefaultTimeout. headers are the
// auth_http_header lines, sent verbatim after nginx's own; an empty name,
// a name with ':' and a name or value with CR or LF are rejected.
func NewClient(u URL, timeout time.Duration, headers []Header) (*Client, error) {
	t, err := u.resolve(defaultLookup)
	if err != nil {
		return nil, err
	}
	for _, h := range headers {
		if h.Name == "" || strings.ContainsAny(h.Name, "\r\n:") || strings.ContainsAny(h.Value, "\r\n") {
			return nil, errors.New(`authhttp: invalid auth_http_header "` + h.Name + `"`)
		}
	}
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	c := &Client{t: t, raw: u.raw, timeout: timeout}
	c.prefix = appendRequestLine(nil, t.host, t.uri)
	c.suffix = append(appendCustom(nil, headers), "\r\n"...)
	if t.serverName != "" {
		c.SetTLS(nil)
	}
	return c, nil
}

// SetTLS sets the TLS client settings of an https:// client: the roots
// and verification, a client certificate, versions. nil means Go's
// defaults (the system's roots, the certificate verified). The
// certificate is always checked against the URL's host (an IP literal
// against the certificate's IP addresses), which is also sent as SNI
// when it is a name; sessions are resumed. cfg is not modified. Call it
// before the first Do; it does nothing for an http:// client.
func (c *Client) SetTLS(cfg *tls.Config) {
	if c.t.serverName == "" {
		return
	}
	if cfg == nil {
		cfg = &tls.Config{}
	}
	cfg = cfg.Clone()
	cfg.ServerName = c.t.serverName
	if cfg.ClientSessionCache == nil {
		cfg.ClientSessionCache = tls.NewLRUClientSessionCache(64)
	}
	c.tls = cfg
}

// HTTPS reports whether the client speaks TLS to the auth server.
func (c *Client) HTTPS() bool { return c.tls != nil }

// SetKeepAlive turns connection reuse on (k.MaxIdle > 0) as KeepAlive
// describes. Call it before the first Do.
func (c *Client) SetKeepAlive(k KeepAlive) {
	if k.MaxIdle <= 0 {
		return
	}
	if k.IdleTimeout <= 0 {
		k.IdleTimeout = DefaultIdleTimeout
	}
	c.pool = &pool{max: k.MaxIdle, timeout: k.IdleTimeout}
	c.suffix = append(append(c.suffix[:len(c.suffix)-2:len(c.suffix)-2], keepAliveHeader...), "\r\n"...)
}

// CloseIdle closes the connections kept for reuse and stops keeping any:
// the client's configuration was replaced (a reload). Do still works.
func (c *Client) CloseIdle() {
	if c.pool != nil {
		c.pool.close()
	}
}

// Addr returns the auth server as nginx names it in log lines: the
// resolved "ADDR:PORT" ("[ADDR]:PORT" for IPv6) or "unix:/path".
func (c *Client) Addr() string { return c.t.name }

// Host returns the Host header value sent with every request.
func (c *Client) Host() string { return c.t.host }

// URI returns the request URI sent with every request.
func (c *Client) URI() string { return c.t.uri }

// Timeout returns the bound of one Do.
func (c *Client) Timeout() time.Duration { return c.timeout }

// AppendRequest appends the request Do would send for r; see the package
// function AppendRequest for the exact bytes.
func (c *Client) AppendRequest(dst []byte, r *Request) []byte {
	dst = append(dst, c.prefix...)
	dst = appendFields(dst, r)
	return append(dst, c.suffix...)
}

// exchange holds the buffers of one Do.
type exchange struct {
	req  []byte
	head [MaxHeadSize]byte
	code int // the answer's status code
}

var exchangePool = sync.Pool{New: func() any { return &exchange{req: make([]byte, 0, 512)} }}

// Do makes one auth_http exchange, as nginx does for one attempt: it opens
// a new connection, sends the request for r, reads at most MaxHeadSize
// bytes up to the empty line ending the header block (never the body),
// closes the connection and returns ParseResponse's verdict. With
// keep-alive (SetKeepAlive) it may use a kept connection instead, and keep
// this one, reading the answer's body too.
//
// The whole exchange must end within the client's timeout counted from
// the start of the connect (data arriving does not extend it); ctx can end
// it sooner. Do does not retry: a WAIT answer comes back as StatusWait and
// the caller sends the same request again when it decides to.
//
// Every error is a *ResponseError or a *TransportError (see LogMessage);
// a syntax error is reported as soon as the offending bytes arrive, as
// nginx does.
func (c *Client) Do(ctx context.Context, r *Request) (*Response, error) {
	resp, _, err := c.do(ctx, r)
	return resp, err
}

// do is Do that also returns the status code of the answer's status
// line (0 when it has none or no answer was read).
func (c *Client) do(ctx context.Context, r *Request) (*Response, int, error) {
	if r == nil {
		return nil, 0, errors.New("authhttp: nil Request")
	}
	deadline := time.Now().Add(c.timeout)
	dctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()

	x := exchangePool.Get().(*exchange)
	defer exchangePool.Put(x)
	x.req = c.AppendRequest(x.req[:0], r)
	defer clear(x.req) // the request holds the password

	if c.pool != nil {
		var usable func(net.Conn) bool
		if c.Reuse != nil {
			usable = func(conn net.Conn) bool { return c.Reuse(ctx, conn) }
		}
		if conn := c.pool.get(usable); conn != nil {
			resp, stale, err := c.exchange(ctx, conn, deadline, x, r)
			if !stale {
				return resp, x.code, err
			}
			// The service closed the kept connection: send again, anew.
		}
	}
	conn, err := c.dial(dctx)
	if err != nil {
		var te *TransportError
		if errors.As(err, &te) {
			return nil, 0, te
		}
		return nil, 0, classify(ctx, ConnectFailed, err)
	}
	resp, _, err := c.exchange(ctx, conn, deadline, x, r)
	return resp, x.code, err
}

// exchange sends x.req on conn and reads the answer; it closes conn or,
// with keep-alive, keeps it. stale reports a failure before any byte of
// an answer arrived (a kept connection the service had closed).
func (c *Client) exchange(ctx context.Context, conn net.Conn, deadline time.Time, x *exchange, r *Request) (resp *Response, stale bool, err error) {
	keep := false
	defer func() {
		if keep {
			c.pool.put(conn)
		} else {
			conn.Close()
		}
	}()
	if err := conn.SetDeadline(deadline); err != nil {
		return nil, true, classify(ctx, ConnectFailed, err)
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	if _, err := conn.Write(x.req); err != nil {
		return nil, ctx.Err() == nil, classify(ctx, SendFailed, err)
	}
	x.code = 0
	resp, n, headLen, err := readHead(ctx, conn, x.head[:], r)
	x.code = statusCode(x.head[:n])
	if err != nil {
		return nil, n == 0 && ctx.Err() == nil, err
	}
	if c.pool != nil {
		// A connection whose ctx fired may have its deadline cut: not kept.
		keep = readBody(conn, x.head[:headLen], n-headLen) && stop()
	}
	return resp, false, nil
}

// readBody reads the rest of the body of a reusable answer whose head is
// head and of which have bytes of body were read with it; it reports
// whether the connection may carry another request.
func readBody(conn net.Conn, head []byte, have int) bool {
	body, ok := reusable(head)
	if !ok || have > body {
		return false
	}
	if left := body - have; left > 0 {
		if _, err := io.CopyN(io.Discard, conn, int64(left)); err != nil {
			return false
		}
	}
	return true
}

// readHead reads the answer into buf until the header block is complete.
// It returns how many bytes it read and how long the head is.
func readHead(ctx context.Context, conn net.Conn, buf []byte, r *Request) (*Response, int, int, error) {
	n := 0
	for n < len(buf) {
		m, err := conn.Read(buf[n:])
		n += m
		if m > 0 {
			switch headLen, serr := scanHead(buf[:n], nil); serr {
			case nil:
				resp, err := ParseResponse(buf[:n], r)
				return resp, n, headLen, err
			case errNeedMore:
			default:
				return nil, n, 0, serr
			}
		}
		if err == io.EOF {
			return nil, n, 0, &TransportError{Kind: ClosedEarly}
		}
		if err != nil {
			return nil, n, 0, classify(ctx, RecvFailed, err)
		}
	}
	// The buffer is full without the empty line. nginx fails on the next
	// read event (more data or the close) or times out: wait for either.
	var one [1]byte
	if _, err := conn.Read(one[:]); err != nil && err != io.EOF && isTimeout(err) {
		return nil, n, 0, classify(ctx, RecvFailed, err)
	}
	return nil, n, 0, &TransportError{Kind: HeadTooLarge}
}

// dial opens the connection to the auth server, with its TLS handshake
// for https://. A failed handshake is a *TransportError HandshakeFailed.
func (c *Client) dial(ctx context.Context) (net.Conn, error) {
	var conn net.Conn
	var err error
	if c.Dial != nil {
		conn, err = c.Dial(ctx, c.t.network, c.t.address)
	} else {
		d := net.Dialer{KeepAlive: -1} // no keep-alive probes, as nginx
		conn, err = d.DialContext(ctx, c.t.network, c.t.address)
	}
	if err != nil || c.tls == nil {
		return conn, err
	}
	tc := tls.Client(conn, c.tls)
	if err := tc.HandshakeContext(ctx); err != nil {
		conn.Close()
		if ctx.Err() != nil || isTimeout(err) {
			return nil, err
		}
		return nil, &TransportError{Kind: HandshakeFailed, Err: err}
	}
	return tc, nil
}

// classify turns an I/O error into a *TransportError: Canceled when the
// caller's ctx ended, TimedOut when the deadline passed, else kind.
func classify(ctx context.Context, kind TransportErrorKind, err error) error {
	if ctx.Err() != nil {
		return &TransportError{Kind: Canceled, Err: context.Cause(ctx)}
	}
	if isTimeout(err) {
		return &TransportError{Kind: TimedOut, Err: err}
	}
	return &TransportError{Kind: kind, Err: err}
}

// isTimeout reports whether err is a deadline expiry.
func isTimeout(err error) bool {
	if errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
