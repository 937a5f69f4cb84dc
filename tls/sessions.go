package tls

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"sync/atomic"
	"time"
)

// Server-side sessions (ssl_session_cache, ssl_session_store). With
// ssl_session_tickets off a Go server has no session-ID cache, so the
// session state stays on the server and the client's ticket is only a
// random ID (a "stateful ticket", as OpenSSL issues them when tickets are
// off): WrapSession seals the state and puts it in a SessionStore under a
// new ID, UnwrapSession gets it back by that ID. The memory cache and the
// store that instances share take the same path.

// SessionStore holds sealed session states by ID, each for a time: the
// memory cache of ssl_session_cache or the store of ssl_session_store.
// Implementations are safe for concurrent use and honour ctx's deadline.
type SessionStore interface {
	// Put stores value under id for ttl.
	Put(ctx context.Context, id string, value []byte, ttl time.Duration) error
	// Get returns the value stored under id: nil and no error when there
	// is none (never stored, expired or evicted).
	Get(ctx context.Context, id string) ([]byte, error)
}

// StoreTimeout bounds each call to a SessionStore: a handshake never waits
// longer for it (kvstore.DefaultTimeout, which this package cannot import).
var StoreTimeout = 200 * time.Millisecond

// sessionIDLen is the length of the random ID a stateful ticket carries.
const sessionIDLen = 16

// storeKeyContext derives the key sealing stored sessions from a ticket
// key, so that no key in the store's use is also a ticket key.
const storeKeyContext = "mailproxy ssl_session_store v1"

// Sessions are the server-side sessions of one server configuration: the
// store they live in, the keys that seal them (the first seals, all
// open) and what binds them to the server. Errors of the store go to the
// function given to OnError.
type Sessions struct {
	store   SessionStore
	aeads   []cipher.AEAD
	context []byte // sha256 of the server's identity: sessions of another server do not open
	timeout time.Duration
	now     func() time.Time
	onError atomic.Pointer[func(op string, err error)]
	// downUntil (Unix nanoseconds) skips the store after a failure, so
	// that a handshake waits at most once for a store that is down and
	// most handshakes do not wait at all.
	downUntil atomic.Int64
}

// StoreRetryAfter is how long the store is skipped after a failed call.
var StoreRetryAfter = time.Second

// errStoreSkipped stands for a call not made: the store failed recently.
var errStoreSkipped = errors.New("skipped: the store failed less than a second ago")

// OnError makes f receive each failed store call ("put" or "get") from now
// on; the handshake itself goes on without resumption. Safe to call while
// the configuration serves.
func (s *Sessions) OnError(f func(op string, err error)) {
	if s != nil {
		s.onError.Store(&f)
	}
}

// report passes a store error to the OnError function and skips the
// store for StoreRetryAfter.
func (s *Sessions) report(op string, err error) {
	if err == errStoreSkipped {
		return
	}
	s.downUntil.Store(time.Now().Add(StoreRetryAfter).UnixNano())
	if f := s.onError.Load(); f != nil {
		(*f)(op, err)
	}
}

// put stores a sealed session, unless the store failed recently.
func (s *Sessions) put(id string, sealed []byte) error {
	if time.Now().UnixNano() < s.downUntil.Load() {
		return errStoreSkipped
	}
	ctx, cancel := context.WithTimeout(context.Background(), StoreTimeout)
	defer cancel()
	return s.store.Put(ctx, id, sealed, s.timeout)
}

// get fetches a sealed session, unless the store failed recently.
func (s *Sessions) get(id string) ([]byte, error) {
	if time.Now().UnixNano() < s.downUntil.Load() {
		return nil, errStoreSkipped
	}
	ctx, cancel := context.WithTimeout(context.Background(), StoreTimeout)
	defer cancel()
	return s.store.Get(ctx, id)
}

// StoreKeys derives the keys sealing sessions in a shared store from the
// ssl_session_ticket_key keys (as TicketKeys returns them): instances
// sharing the key files open each other's sessions, the store alone opens
// none.
func StoreKeys(ticketKeys [][32]byte) [][32]byte {
	out := make([][32]byte, len(ticketKeys))
	for i, k := range ticketKeys {
		m := hmac.New(sha256.New, k[:])
		m.Write([]byte(storeKeyContext))
		copy(out[i][:], m.Sum(nil))
	}
	return out
}

// newSessions returns Sessions in store, sealed with keys, for the server
// identified by context, honoured for timeout; now is the
// configuration's clock.
func newSessions(store SessionStore, keys [][32]byte, context []byte, timeout time.Duration, now func() time.Time) (*Sessions, error) {
	if len(keys) == 0 {
		return nil, errors.New("no key to seal sessions with")
	}
	s := &Sessions{store: store, context: context, timeout: timeout, now: now}
	for _, k := range keys {
		block, err := aes.NewCipher(k[:])
		if err != nil {
			return nil, err
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, err
		}
		s.aeads = append(s.aeads, aead)
	}
	return s, nil
}

// install makes cfg issue stateful tickets from s.
func (s *Sessions) install(cfg *tls.Config) {
	cfg.SessionTicketsDisabled = false
	cfg.WrapSession = s.wrap
	cfg.UnwrapSession = s.unwrap
}

// wrap stores ss, stamped with its issue time, under a new random ID and
// returns the ID as the ticket. A store error is reported and the ID
// returned all the same: the handshake goes on, the ticket simply will
// not resume.
func (s *Sessions) wrap(_ tls.ConnectionState, ss *tls.SessionState) ([]byte, error) {
	stamp := binary.BigEndian.AppendUint64(append([]byte(nil), stampTag...), uint64(s.now().Unix()))
	ss.Extra = append(ss.Extra, stamp)
	plain, err := ss.Bytes()
	if err != nil {
		return nil, err
	}
	id := make([]byte, sessionIDLen)
	rand.Read(id)
	nonce := make([]byte, s.aeads[0].NonceSize())
	rand.Read(nonce)
	sealed := s.aeads[0].Seal(nonce, nonce, plain, s.additional(id))
	if err := s.put(string(id), sealed); err != nil {
		s.report("put", err)
	}
	return id, nil
}

// unwrap returns the session a ticket's ID names, or nil (a full
// handshake) when the store has none, fails, or holds one that does not
// open with this server's keys and context or is older than the timeout.
func (s *Sessions) unwrap(id []byte, _ tls.ConnectionState) (*tls.SessionState, error) {
	if len(id) != sessionIDLen {
		return nil, nil
	}
	sealed, err := s.get(string(id))
	if err != nil {
		s.report("get", err)
		return nil, nil
	}
	plain := s.open(id, sealed)
	if plain == nil {
		return nil, nil
	}
	ss, err := tls.ParseSessionState(plain)
	if err != nil {
		return nil, nil
	}
	issued, ok := issuedAt(ss)
	t := s.now()
	if !ok || issued.After(t.Add(time.Minute)) || t.Sub(issued) > s.timeout {
		return nil, nil
	}
	return ss, nil
}

// open decrypts a sealed session with any of the keys; nil when none
// opens it.
func (s *Sessions) open(id, sealed []byte) []byte {
	ad := s.additional(id)
	for _, a := range s.aeads {
		n := a.NonceSize()
		if len(sealed) < n+a.Overhead() {
			return nil
		}
		if plain, err := a.Open(nil, sealed[:n], sealed[n:], ad); err == nil {
			return plain
		}
	}
	return nil
}

// additional is the authenticated data of a sealed session: the server's
// context and the ID, so that a session is neither served by another
// server nor moved to another ID.
func (s *Sessions) additional(id []byte) []byte {
	return append(append([]byte(nil), s.context...), id...)
}

// sessionContext identifies a server for its sessions, as nginx's
// session ID context does: its certificates, ALPN protocol and
// client-certificate policy. Two instances built from the same files have
// the same context; another server sharing a cache or store does not.
func sessionContext(cfg *tls.Config, s Settings) []byte {
	h := sha256.New()
	h.Write([]byte("mailproxy session context v1\x00"))
	for _, c := range cfg.Certificates {
		if len(c.Certificate) > 0 {
			h.Write(c.Certificate[0])
		}
	}
	for _, p := range cfg.NextProtos {
		h.Write([]byte("\x00alpn " + p))
	}
	h.Write([]byte("\x00verify " + s.VerifyClient))
	return h.Sum(nil)
}
