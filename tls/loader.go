package tls

import (
	"crypto/tls"
	"strconv"
	"strings"
)

// Loader reads the TLS files of one configuration load. Each file is read
// once however many directives, servers and checks name it, and each
// certificate/key pair is parsed, and its key decrypted, once: the
// configuration's checks (which report a bad file at its line) and the
// server settings built afterwards with ServerConfig use the same bytes,
// so what was checked is what is served. A reload uses a new Loader, so
// every file is read again.
//
// The zero Loader is ready to use and reads with ReadFile. A Loader is
// not safe for concurrent use.
type Loader struct {
	// ReadFile, when not nil, replaces the package's ReadFile for every
	// file the Loader reads (tests count reads with it).
	ReadFile func(path string) ([]byte, error)

	files map[string]result[[]byte]
	pairs map[pairKey]result[tls.Certificate]
}

// result is a cached load and its error.
type result[T any] struct {
	v   T
	err error
}

// pairKey identifies a key pair load: the two files and the passphrases
// tried on the key (their count first: no password file and a file
// without any passphrase differ).
type pairKey struct{ cert, key, passwords string }

// read returns path's content, reading it on first use only. A failed
// read is not retried either: it is reported the same way each time.
func (l *Loader) read(path string) ([]byte, error) {
	if r, ok := l.files[path]; ok {
		return r.v, r.err
	}
	read := l.ReadFile
	if read == nil {
		read = ReadFile
	}
	data, err := read(path)
	if l.files == nil {
		l.files = map[string]result[[]byte]{}
	}
	l.files[path] = result[[]byte]{data, err}
	return data, err
}

// KeyPair is LoadKeyPair, once per certificate file, key file and
// passphrases.
func (l *Loader) KeyPair(certFile, keyFile string, passwords []string) (tls.Certificate, error) {
	k := pairKey{certFile, keyFile, strconv.Itoa(len(passwords)) + "\n" + strings.Join(passwords, "\n")}
	if r, ok := l.pairs[k]; ok {
		return r.v, r.err
	}
	c, err := l.loadKeyPair(certFile, keyFile, passwords)
	if l.pairs == nil {
		l.pairs = map[pairKey]result[tls.Certificate]{}
	}
	l.pairs[k] = result[tls.Certificate]{c, err}
	return c, err
}

func (l *Loader) loadKeyPair(certFile, keyFile string, passwords []string) (tls.Certificate, error) {
	certPEM, err := l.read(certFile)
	if err != nil {
		return tls.Certificate{}, err
	}
	keyPEM, err := l.read(keyFile)
	if err != nil {
		return tls.Certificate{}, err
	}
	return X509KeyPair(certPEM, keyPEM, passwords)
}
