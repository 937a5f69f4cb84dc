package tls

import (
	"crypto/tls"
	"fmt"
	"strings"
)

// suite is one TLS 1.0–1.2 cipher suite Go implements, with OpenSSL's name
// and the OpenSSL cipher-string aliases it belongs to.
type suite struct {
	id      uint16
	openssl string
	aliases []string
}

var suites = []suite{
	{tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, "ECDHE-ECDSA-AES256-GCM-SHA384", []string{"HIGH", "ECDHE", "EECDH", "kECDHE", "ECDSA", "aECDSA", "AESGCM", "AES", "AES256", "SHA384", "TLSv1.2"}},
	{tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, "ECDHE-RSA-AES256-GCM-SHA384", []string{"HIGH", "ECDHE", "EECDH", "kECDHE", "aRSA", "AESGCM", "AES", "AES256", "SHA384", "TLSv1.2"}},
	{tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, "ECDHE-ECDSA-CHACHA20-POLY1305", []string{"HIGH", "ECDHE", "EECDH", "kECDHE", "ECDSA", "aECDSA", "CHACHA20", "TLSv1.2"}},
	{tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256, "ECDHE-RSA-CHACHA20-POLY1305", []string{"HIGH", "ECDHE", "EECDH", "kECDHE", "aRSA", "CHACHA20", "TLSv1.2"}},
	{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, "ECDHE-ECDSA-AES128-GCM-SHA256", []string{"HIGH", "ECDHE", "EECDH", "kECDHE", "ECDSA", "aECDSA", "AESGCM", "AES", "AES128", "SHA256", "TLSv1.2"}},
	{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, "ECDHE-RSA-AES128-GCM-SHA256", []string{"HIGH", "ECDHE", "EECDH", "kECDHE", "aRSA", "AESGCM", "AES", "AES128", "SHA256", "TLSv1.2"}},
	{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256, "ECDHE-ECDSA-AES128-SHA256", []string{"HIGH", "ECDHE", "EECDH", "kECDHE", "ECDSA", "aECDSA", "AES", "AES128", "SHA256", "TLSv1.2"}},
	{tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256, "ECDHE-RSA-AES128-SHA256", []string{"HIGH", "ECDHE", "EECDH", "kECDHE", "aRSA", "AES", "AES128", "SHA256", "TLSv1.2"}},
	{tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA, "ECDHE-ECDSA-AES256-SHA", []string{"HIGH", "ECDHE", "EECDH", "kECDHE", "ECDSA", "aECDSA", "AES", "AES256", "SHA1", "SHA", "TLSv1"}},
	{tls.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA, "ECDHE-RSA-AES256-SHA", []string{"HIGH", "ECDHE", "EECDH", "kECDHE", "aRSA", "AES", "AES256", "SHA1", "SHA", "TLSv1"}},
	{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, "ECDHE-ECDSA-AES128-SHA", []string{"HIGH", "ECDHE", "EECDH", "kECDHE", "ECDSA", "aECDSA", "AES", "AES128", "SHA1", "SHA", "TLSv1"}},
	{tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, "ECDHE-RSA-AES128-SHA", []string{"HIGH", "ECDHE", "EECDH", "kECDHE", "aRSA", "AES", "AES128", "SHA1", "SHA", "TLSv1"}},
	{tls.TLS_RSA_WITH_AES_256_GCM_SHA384, "AES256-GCM-SHA384", []string{"HIGH", "kRSA", "aRSA", "RSA", "AESGCM", "AES", "AES256", "SHA384", "TLSv1.2"}},
	{tls.TLS_RSA_WITH_AES_128_GCM_SHA256, "AES128-GCM-SHA256", []string{"HIGH", "kRSA", "aRSA", "RSA", "AESGCM", "AES", "AES128", "SHA256", "TLSv1.2"}},
	{tls.TLS_RSA_WITH_AES_128_CBC_SHA256, "AES128-SHA256", []string{"HIGH", "kRSA", "aRSA", "RSA", "AES", "AES128", "SHA256", "TLSv1.2"}},
	{tls.TLS_RSA_WITH_AES_256_CBC_SHA, "AES256-SHA", []string{"HIGH", "kRSA", "aRSA", "RSA", "AES", "AES256", "SHA1", "SHA", "TLSv1"}},
	{tls.TLS_RSA_WITH_AES_128_CBC_SHA, "AES128-SHA", []string{"HIGH", "kRSA", "aRSA", "RSA", "AES", "AES128", "SHA1", "SHA", "TLSv1"}},
	{tls.TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA, "ECDHE-RSA-DES-CBC3-SHA", []string{"MEDIUM", "ECDHE", "EECDH", "kECDHE", "aRSA", "3DES", "SHA1", "SHA", "TLSv1"}},
	{tls.TLS_RSA_WITH_3DES_EDE_CBC_SHA, "DES-CBC3-SHA", []string{"MEDIUM", "kRSA", "aRSA", "RSA", "3DES", "SHA1", "SHA", "TLSv1"}},
}

// tls13Names are OpenSSL's names of the TLS 1.3 suites (the IANA names).
var tls13Names = map[uint16]string{
	tls.TLS_AES_128_GCM_SHA256:       "TLS_AES_128_GCM_SHA256",
	tls.TLS_AES_256_GCM_SHA384:       "TLS_AES_256_GCM_SHA384",
	tls.TLS_CHACHA20_POLY1305_SHA256: "TLS_CHACHA20_POLY1305_SHA256",
}

// CipherName is OpenSSL's name for a cipher suite (Auth-SSL-Cipher).
func CipherName(id uint16) string {
	if n, ok := tls13Names[id]; ok {
		return n
	}
	for _, s := range suites {
		if s.id == id {
			return s.openssl
		}
	}
	return tls.CipherSuiteName(id)
}

// aliases that select every suite Go offers; they carry no restriction Go
// could apply more finely.
var allAliases = map[string]bool{"ALL": true, "DEFAULT": true, "COMPLEMENTOFDEFAULT": false}

// noop aliases name suites Go never offers (anonymous, export, MD5, RC4,
// PSK, …); selecting or excluding them changes nothing.
var noopAliases = map[string]bool{
	"aNULL": true, "eNULL": true, "NULL": true, "ADH": true, "AECDH": true, "EXPORT": true, "EXP": true,
	"LOW": true, "MD5": true, "RC4": true, "PSK": true, "SRP": true, "DSS": true, "aDSS": true, "DES": true,
	"IDEA": true, "SEED": true, "CAMELLIA": true, "ARIA": true, "DHE": true, "EDH": true, "kEDH": true, "kDHE": true,
	"SSLv3": true, "aPSK": true, "kPSK": true, "CCM": true, "AESCCM": true, "AESCCM8": true, "SHA224": true,
}

// ParseCiphers maps an OpenSSL cipher string (ssl_ciphers) onto Go's TLS
// 1.0–1.2 suites, in OpenSSL's list order. TLS 1.3 suites are not affected,
// as in OpenSSL. Items: NAME or ALIAS (append), !X (remove for good), -X
// (remove), +X (move to the end), @STRENGTH/@SECLEVEL=n (ignored); several
// aliases may be joined with '+' to mean their intersection. An item that
// names nothing Go knows is an error, so no setting is silently dropped.
//
// An empty s (no ssl_ciphers) gives nil: Go's default suites. nginx's
// default, HIGH:!aNULL:!MD5, would add the RSA key exchange and the
// CBC-SHA256 suites that Go leaves off (its CBC code has no Lucky13
// countermeasures); write it out to get them.
func ParseCiphers(s string) ([]uint16, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var list []uint16
	banned := map[uint16]bool{}
	fields := strings.FieldsFunc(s, func(r rune) bool { return r == ':' || r == ',' || r == ' ' })
	for _, f := range fields {
		if strings.HasPrefix(f, "@") {
			continue
		}
		op := byte(0)
		if f[0] == '!' || f[0] == '-' || f[0] == '+' {
			op, f = f[0], f[1:]
		}
		ids, err := selectSuites(f)
		if err != nil {
			return nil, err
		}
		switch op {
		case '!':
			for _, id := range ids {
				banned[id] = true
			}
			list = remove(list, ids)
		case '-':
			list = remove(list, ids)
		case '+':
			moved := intersect(list, ids)
			list = append(remove(list, moved), moved...)
		default:
			for _, id := range ids {
				if !banned[id] && !contains(list, id) {
					list = append(list, id)
				}
			}
		}
	}
	if len(list) == 0 {
		return nil, fmt.Errorf("ssl_ciphers %q selects no cipher Go implements", s)
	}
	return list, nil
}

// selectSuites resolves one item (possibly ALIAS+ALIAS) to suite ids.
func selectSuites(item string) ([]uint16, error) {
	var out []uint16
	first := true
	for _, part := range strings.Split(item, "+") {
		var ids []uint16
		switch {
		case allAliases[part]:
			for _, s := range suites {
				if !hasAlias(s, "MEDIUM") {
					ids = append(ids, s.id)
				}
			}
		case noopAliases[part]:
		default:
			found := false
			for _, s := range suites {
				if s.openssl == part || hasAlias(s, part) {
					ids = append(ids, s.id)
					found = true
				}
			}
			if !found && !isTLS13Name(part) {
				return nil, fmt.Errorf("ssl_ciphers: %q is not a cipher Go implements", part)
			}
		}
		if first {
			out, first = ids, false
		} else {
			out = intersect(out, ids)
		}
	}
	return out, nil
}

func isTLS13Name(n string) bool {
	for _, v := range tls13Names {
		if v == n {
			return true
		}
	}
	return false
}

func hasAlias(s suite, a string) bool {
	for _, x := range s.aliases {
		if x == a {
			return true
		}
	}
	return false
}

func contains(l []uint16, id uint16) bool {
	for _, x := range l {
		if x == id {
			return true
		}
	}
	return false
}

func remove(l, ids []uint16) []uint16 {
	out := l[:0:0]
	for _, x := range l {
		if !contains(ids, x) {
			out = append(out, x)
		}
	}
	return out
}

func intersect(l, ids []uint16) []uint16 {
	var out []uint16
	for _, x := range l {
		if contains(ids, x) {
			out = append(out, x)
		}
	}
	return out
}
