package proxy

import "net/url"

// watchSessions reports the session store errors of sites: counted by
// the observer (StoreError "ssl_session"), and logged as a warning at
// most once per logEvery per store, with the number of failures not
// logged since the last warning.
func (s *Server) watchSessions(sites []*site) {
	for _, st := range sites {
		if st.cfg.TLSSessions == nil || st.cfg.SSLSessionStore == "" {
			continue
		}
		url := redactURL(st.cfg.SSLSessionStore)
		st.cfg.TLSSessions.OnError(func(op string, err error) {
			s.observer().StoreError("ssl_session")
			if ok, skipped := s.gate.every("ssl_session store " + url); ok {
				s.Logger().Warn("TLS session store failed; handshakes go on without resumption", "store", url, "op", op, "error", err.Error(), "unlogged", skipped)
			}
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
