package config

import (
	stdtls "crypto/tls"
	"crypto/x509"

	mailtls "mailproxy/tls"
)

// tlsLoader loads the TLS files of one Parse: *mailtls.Loader, which reads
// each file once, so that the checks here and the server settings built
// from them (buildTLS) share every read. Tests replace it (newTLSLoader).
type tlsLoader interface {
	PasswordFile(path string) ([]string, error)
	KeyPair(certFile, keyFile string, passwords []string) (stdtls.Certificate, error)
	Certificates(path string) ([]*x509.Certificate, error)
	CRLs(path string) ([]*x509.RevocationList, error)
	TicketKeys(files []string) ([][32]byte, error)
	ServerConfig(s mailtls.Settings) (*stdtls.Config, *mailtls.ClientAuth, error)
	ServerConfigSessions(s mailtls.Settings) (*stdtls.Config, *mailtls.ClientAuth, *mailtls.Sessions, error)
	ClientTLS(s mailtls.ClientSettings) (*mailtls.ClientTLS, error)
}

// newTLSLoader makes the loader of one Parse. Tests may replace it.
var newTLSLoader = func() tlsLoader { return new(mailtls.Loader) }

// passwordFile is one ssl_password_file's passphrases, read once.
type passwordFile struct {
	lines []string
	ok    bool
}

// checkPair loads a certificate/key pair once per file (with the
// passphrases of pwFile, read once and reported at pwLine when it cannot
// be read) and checks that they match, decrypting an encrypted key as
// the server will (mailtls.LoadKeyPair: files that are not regular or
// are too large are refused). It returns nil for a pair already checked
// or when the password file is unreadable (that problem is reported
// instead).
func (e *env) checkPair(c *collector, pwFile string, pwLine int, cert, key string) error {
	p := [3]string{cert, key, pwFile}
	if e.pairs[p] {
		return nil
	}
	e.pairs[p] = true
	var passwords []string
	if pwFile != "" {
		if e.passwords == nil {
			e.passwords = map[string]passwordFile{}
		}
		pf, seen := e.passwords[pwFile]
		if !seen {
			lines, err := e.tls.PasswordFile(pwFile)
			if err != nil {
				c.errorf(pwLine, "ssl_password_file: %v", err)
			}
			pf = passwordFile{lines, err == nil}
			e.passwords[pwFile] = pf
		}
		if !pf.ok {
			return nil
		}
		passwords = pf.lines
	}
	_, err := e.tls.KeyPair(cert, key, passwords)
	return err
}
