package config

import (
	"crypto/tls"
	"fmt"
	"io"
	"os"
)

// maxPEMSize bounds a certificate or key file; real chains are far smaller.
const maxPEMSize = 10 << 20

// loadKeyPair checks that a certificate file and its key file load and
// match, as crypto/tls.LoadX509KeyPair does, but refuses files that are not
// regular (a FIFO or /dev/stdin would block the load) or are too large.
// Tests may replace it.
var loadKeyPair = func(certFile, keyFile string) error {
	certPEM, err := readPEM(certFile)
	if err != nil {
		return err
	}
	keyPEM, err := readPEM(keyFile)
	if err != nil {
		return err
	}
	_, err = tls.X509KeyPair(certPEM, keyPEM)
	return err
}

// readPEM reads a regular file of at most maxPEMSize bytes.
func readPEM(path string) ([]byte, error) {
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
	data, err := io.ReadAll(io.LimitReader(f, maxPEMSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxPEMSize {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, maxPEMSize)
	}
	return data, nil
}
