package proxy

import (
	"errors"

	"mailproxy/internal/evloop"
	"mailproxy/internal/limit"
	"mailproxy/internal/outcome"
)

// parked is a relay that owns the end of a session (relay.go's in the
// server's poller, loopRelay on an event loop).
type parked interface {
	// shutdown ends the session as the server's hard stop (abort); any
	// goroutine may call it.
	shutdown()
}

// loopRelay ends a plain-TCP session relayed on the event loop that ran
// its login (evloop.Relay): no goroutine, no Release to Go's poller. The
// rules are relay.go's (SPEC §11.7): when either side ends both are
// closed, and proxy_timeout is re-armed only by what the client sends.
type loopRelay struct {
	cc *clientConn
	r  *evloop.Relay
}

// relayOnLoop starts the loop relay of cc, whose task owns both sockets;
// false when it cannot (the caller then relays otherwise). On success the
// relay owns the session's end.
func (cc *clientConn) relayOnLoop() bool {
	client, ok := cc.tcp.(*evloop.Conn)
	if !ok {
		return false
	}
	backend, ok := cc.backendTCP.(*evloop.Conn)
	if !ok {
		return false
	}
	lr := &loopRelay{cc: cc}
	r, err := evloop.StartRelay(client, backend, cc.site.cfg.ProxyTimeout, lr.ended)
	if err != nil {
		cc.log.Warn("could not relay on the event loop; relaying with goroutines", "err", err)
		return false
	}
	// The relay reports nothing before this task returns to the loop.
	lr.r = r
	cc.mu.Lock()
	cc.relay = lr
	cc.mu.Unlock()
	return true
}

func (lr *loopRelay) shutdown() { lr.r.Close() }

// ended is the relay's end (on the loop): dir 0 is the client's side, 1
// the backend's, -1 the server's hard stop or a panic in the relay.
func (lr *loopRelay) ended(dir int, err error) {
	cc := lr.cc
	var pe *evloop.PanicError
	switch {
	case errors.As(err, &pe):
		cc.log.Error("panic in session", "panic", pe.Value, "stack", string(pe.Stack))
		cc.outcome = outcome.Panic.With(err)
	case cc.ctx.Err() != nil:
		cc.outcome = outcome.Shutdown.With(nil)
	case errors.Is(err, evloop.ErrIdle):
		cc.log.Info("client timed out while proxying")
		cc.outcome = outcome.IdleTimeout.With(err)
	case err == nil && dir == 0:
		cc.outcome = outcome.ClientClosed.With(nil)
	case err == nil:
		cc.outcome = outcome.BackendClosed.With(nil)
	case dir == 0:
		cc.outcome = outcome.ClientError.With(err)
	default:
		cc.outcome = outcome.BackendError.With(err)
	}
	toBackend, toClient := lr.r.Moved()
	cc.toBackend += toBackend
	cc.toClient += toClient
	if _, shared := cc.srv.store.(*limit.Shared); shared && len(cc.held) > 0 {
		// Giving counts back is a network round trip: off the loop.
		go cc.finish()
		return
	}
	cc.finish()
}
