package proxy

import (
	"net/url"
	"sync"
	"time"
)

// sessionStoreWarnEvery is the least time between two warnings about one
// server's session store.
const sessionStoreWarnEvery = 10 * time.Second

// watchSessions reports the session store errors of sites: counted by
// the observer (StoreError "ssl_session"), and logged as a warning at most once per
// sessionStoreWarnEvery per server, with the number of failures since
// the last warning.
func (s *Server) watchSessions(sites []*site) {
	for _, st := range sites {
		if st.cfg.TLSSessions == nil || st.cfg.SSLSessionStore == "" {
			continue
		}
		var mu sync.Mutex
		var last time.Time
		var failed int
		url := st.cfg.SSLSessionStore
		st.cfg.TLSSessions.OnError(func(op string, err error) {
			s.observer().StoreError("ssl_session")
			mu.Lock()
			failed++
			now := time.Now()
			if !last.IsZero() && now.Sub(last) < sessionStoreWarnEvery {
				mu.Unlock()
				return
			}
			n := failed
			last, failed = now, 0
			mu.Unlock()
			s.Logger().Warn("TLS session store failed; handshakes go on without resumption", "store", redactURL(url), "op", op, "error", err.Error(), "failures", n)
		})
	}
}

// redactURL is a store URL without its password.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(invalid URL)"
	}
	return u.Redacted()
}
