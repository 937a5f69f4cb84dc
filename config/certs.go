package config

import (
	mailtls "mailproxy/tls"
)

// loadKeyPair checks that a certificate file and its key file load and
// match, decrypting an encrypted key with the passphrases of
// ssl_password_file as the server will (mailtls.LoadKeyPair: files that
// are not regular or are too large are refused). Tests may replace it.
var loadKeyPair = func(certFile, keyFile string, passwords []string) error {
	_, err := mailtls.LoadKeyPair(certFile, keyFile, passwords)
	return err
}

// readPasswords reads an ssl_password_file. Tests may replace it.
var readPasswords = mailtls.ReadPasswordFile

// passwordFile is one ssl_password_file's passphrases, read once.
type passwordFile struct {
	lines []string
	ok    bool
}

// checkPair loads a certificate/key pair once per file (with the
// passphrases of pwFile, read once and reported at pwLine when it cannot
// be read). It returns nil for a pair already checked or when the
// password file is unreadable (that problem is reported instead).
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
			lines, err := readPasswords(pwFile)
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
	return loadKeyPair(cert, key, passwords)
}
