package tls

import (
	"crypto/tls"
	"fmt"
	"strings"
)

// curveNames maps OpenSSL's group names (lower-cased) to Go's. OpenSSL
// accepts the NIST names and the SEC names alike.
var curveNames = map[string]tls.CurveID{
	"x25519":             tls.X25519,
	"prime256v1":         tls.CurveP256,
	"secp256r1":          tls.CurveP256,
	"p-256":              tls.CurveP256,
	"secp384r1":          tls.CurveP384,
	"p-384":              tls.CurveP384,
	"secp521r1":          tls.CurveP521,
	"p-521":              tls.CurveP521,
	"x25519mlkem768":     tls.X25519MLKEM768,
	"secp256r1mlkem768":  tls.SecP256r1MLKEM768,
	"secp384r1mlkem1024": tls.SecP384r1MLKEM1024,
}

// ParseCurves maps ssl_ecdh_curve — "auto", or OpenSSL group names
// separated by ':' (case-insensitive; a name prefixed with '?' is skipped
// when unknown, as OpenSSL 3 does) — to Go's CurveIDs. "auto" gives nil:
// Go's default set. A group Go does not implement (X448, ffdhe*,
// brainpool…) is an error naming it. Go picks among the listed groups in
// its own preference order; the order of the list is not kept.
func ParseCurves(s string) ([]tls.CurveID, error) {
	if strings.TrimSpace(s) == "" || strings.EqualFold(s, "auto") {
		return nil, nil
	}
	var out []tls.CurveID
	seen := map[tls.CurveID]bool{}
	for _, name := range strings.Split(s, ":") {
		optional := strings.HasPrefix(name, "?")
		name = strings.TrimPrefix(name, "?")
		id, ok := curveNames[strings.ToLower(name)]
		switch {
		case !ok && optional:
			continue
		case !ok:
			return nil, fmt.Errorf("ssl_ecdh_curve: unknown or unsupported curve %q (Go implements X25519, prime256v1, secp384r1, secp521r1, X25519MLKEM768, SecP256r1MLKEM768, SecP384r1MLKEM1024)", name)
		case !seen[id]:
			seen[id] = true
			out = append(out, id)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("ssl_ecdh_curve %q names no curve Go implements", s)
	}
	return out, nil
}
