package config

import (
	"strings"

	yaml "go.yaml.in/yaml/v3"

	"mailproxy/internal/kvstore"
	"mailproxy/internal/tlsstore"
	mailtls "mailproxy/tls"
)

// sessionStoreURL parses ssl_session_store: a store URL kvstore accepts.
func sessionStoreURL(c *collector, key string, n *yaml.Node) (string, bool) {
	s, ok := nonEmptyText(c, key, n)
	if !ok {
		return "", false
	}
	if err := kvstore.Validate(s); err != nil {
		c.errorf(n.Line, "%s: %v", key, err)
		return "", false
	}
	return s, true
}

// checkSessionStore requires ssl_session_ticket_key next to
// ssl_session_store on a server that uses TLS: the key sealing the
// stored sessions is derived from it, so the store alone opens none of
// them.
func checkSessionStore(c *collector, srv *Server, line int) {
	if srv.SSLSessionStore != "" && srv.NeedsTLS() && len(srv.SSLSessionTicketKey) == 0 {
		c.errorf(line, "ssl_session_store needs ssl_session_ticket_key: the key sealing the stored sessions is derived from its files, which every instance sharing the store must have")
	}
}

// sessionCache turns an ssl_session_cache list into the memory cache the
// tls package keeps: builtin[:size] holds size sessions (default 20480),
// shared:NAME:SIZE about 4000 per megabyte and wins over builtin (every
// server naming it uses the same cache); off and none keep no cache, and
// off also turns ssl_session_store off.
func sessionCache(list []string) (cache mailtls.SessionCache, off bool) {
	for _, v := range list {
		switch {
		case v == "off":
			return mailtls.SessionCache{}, true
		case v == "builtin":
			if cache.Shared == "" {
				cache.Size = mailtls.DefaultSessionCacheSize
			}
		case strings.HasPrefix(v, "builtin:"):
			if cache.Shared == "" {
				cache.Size = int(min(nginxSize(strings.TrimPrefix(v, "builtin:")), 1<<30))
			}
		case strings.HasPrefix(v, "shared:"):
			parts := strings.Split(v, ":")
			if len(parts) == 3 {
				cache = mailtls.SessionCache{Shared: parts[1], Size: mailtls.SharedCacheSessions(nginxSize(parts[2]))}
			}
		}
	}
	return cache, false
}

// sessionSettings completes s with ssl_session_cache and
// ssl_session_store (the store's pool is shared by every server and
// reload naming the same URL).
func (srv *Server) sessionSettings(s *mailtls.Settings) error {
	s.SessionCache, s.NoSessions = sessionCache(srv.SSLSessionCache)
	if srv.SSLSessionStore == "" {
		return nil
	}
	st, err := tlsstore.Shared(srv.SSLSessionStore)
	if err != nil {
		return err
	}
	s.SessionStore = st
	return nil
}
