package tls

import (
	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"encoding/binary"
	"fmt"
	"time"
)

// Session resumption. Go resumes sessions only with tickets (no
// server-side session-ID cache): the ticket keys come from
// ssl_session_ticket_key files when given (so that every instance and
// every configuration built from the same files resumes the others'
// sessions) and are otherwise Go's own random keys, rotated daily and
// lost when the configuration is rebuilt.

// ticketKeyContext separates the keys derived here from any other use of
// the same file.
const ticketKeyContext = "mailproxy ssl_session_ticket_key v1\x00"

// ReadTicketKeys reads ssl_session_ticket_key files. Each must hold 48 or
// 80 bytes, as nginx requires; the 32-byte key Go uses is derived from
// the whole content, so the same file gives the same key everywhere. The
// first key encrypts new tickets, all of them decrypt.
func ReadTicketKeys(files []string) ([][32]byte, error) {
	return new(Loader).TicketKeys(files)
}

// TicketKeys is ReadTicketKeys, reading each file once per Loader.
func (l *Loader) TicketKeys(files []string) ([][32]byte, error) {
	var keys [][32]byte
	for _, f := range files {
		data, err := l.read(f)
		if err != nil {
			return nil, fmt.Errorf("ssl_session_ticket_key: %w", err)
		}
		if len(data) != 48 && len(data) != 80 {
			return nil, fmt.Errorf("ssl_session_ticket_key: %q must be 48 or 80 bytes, not %d", f, len(data))
		}
		keys = append(keys, sha256.Sum256(append([]byte(ticketKeyContext), data...)))
	}
	return keys, nil
}

// stampTag prefixes the SessionState.Extra entry holding the time a
// ticket was issued (8 bytes, Unix seconds, big-endian).
var stampTag = []byte("mailproxy/issued/v1:")

// limitSessionLifetime makes cfg refuse tickets older than timeout
// (ssl_session_timeout): Go itself accepts them for 7 days. Each ticket
// carries its issue time; a ticket without one, or from the future, is
// ignored and the client gets a full handshake. A resumed session is
// given a new ticket, so the timeout counts from the last handshake, as
// with TLS 1.3 tickets in OpenSSL.
func limitSessionLifetime(cfg *tls.Config, timeout time.Duration) {
	now := func() time.Time {
		if cfg.Time != nil {
			return cfg.Time()
		}
		return time.Now()
	}
	cfg.WrapSession = func(cs tls.ConnectionState, ss *tls.SessionState) ([]byte, error) {
		stamp := binary.BigEndian.AppendUint64(append([]byte(nil), stampTag...), uint64(now().Unix()))
		ss.Extra = append(ss.Extra, stamp)
		return cfg.EncryptTicket(cs, ss)
	}
	cfg.UnwrapSession = func(identity []byte, cs tls.ConnectionState) (*tls.SessionState, error) {
		ss, err := cfg.DecryptTicket(identity, cs)
		if err != nil || ss == nil {
			return nil, nil
		}
		issued, ok := issuedAt(ss)
		t := now()
		if !ok || issued.After(t.Add(time.Minute)) || t.Sub(issued) > timeout {
			return nil, nil
		}
		return ss, nil
	}
}

// issuedAt finds the issue time limitSessionLifetime stored in ss.
func issuedAt(ss *tls.SessionState) (time.Time, bool) {
	for _, e := range ss.Extra {
		if len(e) == len(stampTag)+8 && bytes.HasPrefix(e, stampTag) {
			return time.Unix(int64(binary.BigEndian.Uint64(e[len(stampTag):])), 0), true
		}
	}
	return time.Time{}, false
}
