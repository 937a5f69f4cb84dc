package authhttp

import (
	"context"
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
// calls.
type Client struct {
	// Dial, when not nil, replaces net.Dialer.DialContext for opening the
	// connection to the auth server (tests, source address). It must
	// honour ctx, whose deadline is the end of the client's timeout. Set
	// it before the first Do.
	Dial func(ctx context.Context, network, address string) (net.Conn, error)

	t       target
	timeout time.Duration
	prefix  []byte // request line and Host line
	suffix  []byte // custom headers and the empty line
}

// NewClient parses rawURL as nginx's auth_http directive does and returns
// a client for it.
//
// rawURL is an optional "http://" followed by "host[:port][/uri]" (port
// 80 and uri "/" by default; a "?query" also starts the URI and is kept
// verbatim; an IPv6 host is written in brackets and then only "/" starts
// the URI) or by "unix:/path[:uri]". "https://" is rejected. A host name
// is resolved here, once, and only its first address is used, as nginx
// does at configuration time. The Host header is the host part as written,
// without the port (IPv6 with its brackets), or "localhost" for unix:.
//
// timeout bounds each Do from the start of the connect to the end of the
// answer's header block; ≤ 0 means DefaultTimeout. headers are the
// auth_http_header lines, sent verbatim after nginx's own; an empty name,
// a name with ':' and a name or value with CR or LF are rejected.
func NewClient(rawURL string, timeout time.Duration, headers []Header) (*Client, error) {
	t, err := parseURL(rawURL, defaultLookup)
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
	c := &Client{t: t, timeout: timeout}
	c.prefix = appendRequestLine(nil, t.host, t.uri)
	c.suffix = append(appendCustom(nil, headers), "\r\n"...)
	return c, nil
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
}

var exchangePool = sync.Pool{New: func() any { return &exchange{req: make([]byte, 0, 512)} }}

// Do makes one auth_http exchange, as nginx does for one attempt: it opens
// a new connection, sends the request for r, reads at most MaxHeadSize
// bytes up to the empty line ending the header block (never the body),
// closes the connection and returns ParseResponse's verdict.
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
	if r == nil {
		return nil, errors.New("authhttp: nil Request")
	}
	deadline := time.Now().Add(c.timeout)
	dctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()

	conn, err := c.dial(dctx)
	if err != nil {
		return nil, classify(ctx, ConnectFailed, err)
	}
	defer conn.Close()
	if err := conn.SetDeadline(deadline); err != nil {
		return nil, classify(ctx, ConnectFailed, err)
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	x := exchangePool.Get().(*exchange)
	defer exchangePool.Put(x)
	x.req = c.AppendRequest(x.req[:0], r)
	_, err = conn.Write(x.req)
	clear(x.req) // the request holds the password
	if err != nil {
		return nil, classify(ctx, SendFailed, err)
	}
	return readHead(ctx, conn, x.head[:], r)
}

// readHead reads the answer into buf until the header block is complete.
func readHead(ctx context.Context, conn net.Conn, buf []byte, r *Request) (*Response, error) {
	n := 0
	for n < len(buf) {
		m, err := conn.Read(buf[n:])
		n += m
		if m > 0 {
			switch _, serr := scanHead(buf[:n], nil); serr {
			case nil:
				return ParseResponse(buf[:n], r)
			case errNeedMore:
			default:
				return nil, serr
			}
		}
		if err == io.EOF {
			return nil, &TransportError{Kind: ClosedEarly}
		}
		if err != nil {
			return nil, classify(ctx, RecvFailed, err)
		}
	}
	// The buffer is full without the empty line. nginx fails on the next
	// read event (more data or the close) or times out: wait for either.
	var one [1]byte
	if _, err := conn.Read(one[:]); err != nil && err != io.EOF && isTimeout(err) {
		return nil, classify(ctx, RecvFailed, err)
	}
	return nil, &TransportError{Kind: HeadTooLarge}
}

// dial opens the connection to the auth server.
func (c *Client) dial(ctx context.Context) (net.Conn, error) {
	if c.Dial != nil {
		return c.Dial(ctx, c.t.network, c.t.address)
	}
	var d net.Dialer
	return d.DialContext(ctx, c.t.network, c.t.address)
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
