package tls

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// maxFileSize bounds every file this package reads (certificates, keys,
// CA lists, CRLs, password and ticket key files).
const maxFileSize = 10 << 20

// ReadFile reads a regular file of at most 10 MiB. A FIFO or a device
// (/dev/stdin) is refused, so a load never blocks.
func ReadFile(path string) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", path)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxFileSize {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, maxFileSize)
	}
	return data, nil
}

// ReadPasswordFile reads an ssl_password_file as nginx does: one
// passphrase per line (LF or CRLF), empty lines skipped; a file without
// any passphrase gives one empty passphrase. "" (no file) gives nil.
func ReadPasswordFile(path string) ([]string, error) {
	return new(Loader).PasswordFile(path)
}

// PasswordFile is ReadPasswordFile, reading the file once per Loader.
func (l *Loader) PasswordFile(path string) ([]string, error) {
	if path == "" {
		return nil, nil
	}
	data, err := l.read(path)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSuffix(line, "\r")
		if line != "" {
			out = append(out, line)
		}
	}
	if len(out) == 0 {
		out = []string{""}
	}
	return out, nil
}

// LoadKeyPair loads a certificate file (the certificate, then its chain)
// and its private key file. An encrypted key (PKCS#8 PBES2 "ENCRYPTED
// PRIVATE KEY", or a legacy "Proc-Type: 4,ENCRYPTED" PEM) is decrypted
// with each of passwords in turn, as nginx tries the lines of
// ssl_password_file. The key must match the certificate.
func LoadKeyPair(certFile, keyFile string, passwords []string) (tls.Certificate, error) {
	return new(Loader).KeyPair(certFile, keyFile, passwords)
}

// X509KeyPair is LoadKeyPair on PEM data.
func X509KeyPair(certPEM, keyPEM []byte, passwords []string) (tls.Certificate, error) {
	plain, err := decryptKeyPEM(keyPEM, passwords)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.X509KeyPair(certPEM, plain)
}

// decryptKeyPEM returns keyPEM with its private key block decrypted, or
// keyPEM itself when the key is not encrypted.
func decryptKeyPEM(keyPEM []byte, passwords []string) ([]byte, error) {
	rest := keyPEM
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			return keyPEM, nil // tls.X509KeyPair reports what is missing
		}
		encrypted := block.Type == "ENCRYPTED PRIVATE KEY"
		//lint:ignore SA1019 legacy PEM encryption is what ssl_password_file decrypts
		legacy := strings.HasSuffix(block.Type, "PRIVATE KEY") && x509.IsEncryptedPEMBlock(block) //nolint:staticcheck
		if !encrypted && !legacy {
			if strings.HasSuffix(block.Type, "PRIVATE KEY") {
				return keyPEM, nil
			}
			continue
		}
		if len(passwords) == 0 {
			return nil, errors.New("the private key is encrypted and no ssl_password_file is set")
		}
		var lastErr error
		for _, pw := range passwords {
			var out *pem.Block
			var err error
			if encrypted {
				out, err = decryptPKCS8(block.Bytes, pw)
			} else {
				out, err = decryptLegacy(block, pw)
			}
			if err == nil {
				return pem.EncodeToMemory(out), nil
			}
			lastErr = err
			if errors.Is(err, errUnsupportedEncryption) {
				return nil, err
			}
		}
		return nil, fmt.Errorf("cannot decrypt the private key with any line of ssl_password_file (%v)", lastErr)
	}
}

// decryptLegacy decrypts an OpenSSL "traditional" encrypted PEM block
// (DEK-Info header) and checks that the result parses, so that a wrong
// passphrase whose padding happens to look right is still refused.
func decryptLegacy(block *pem.Block, password string) (*pem.Block, error) {
	//lint:ignore SA1019 see decryptKeyPEM
	der, err := x509.DecryptPEMBlock(block, []byte(password)) //nolint:staticcheck
	if err != nil {
		return nil, err
	}
	if !parsesAsKey(der) {
		return nil, x509.IncorrectPasswordError
	}
	return &pem.Block{Type: block.Type, Bytes: der}, nil
}

// parsesAsKey reports whether der is a PKCS#1, SEC 1 or PKCS#8 private key.
func parsesAsKey(der []byte) bool {
	if _, err := x509.ParsePKCS1PrivateKey(der); err == nil {
		return true
	}
	if _, err := x509.ParseECPrivateKey(der); err == nil {
		return true
	}
	_, err := x509.ParsePKCS8PrivateKey(der)
	return err == nil
}
