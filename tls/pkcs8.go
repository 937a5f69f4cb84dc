package tls

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/des"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"hash"
)

// Encrypted PKCS#8 keys (RFC 5958 EncryptedPrivateKeyInfo) with PBES2
// (RFC 8018): PBKDF2 with HMAC-SHA1/SHA-224/SHA-256/SHA-384/SHA-512 and
// AES-128/192/256-CBC or DES-EDE3-CBC — what `openssl genpkey -aes256`,
// `openssl pkcs8 -topk8 -v2 …` and `openssl req -newkey` write.

var (
	oidPBES2  = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 13}
	oidPBKDF2 = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 12}
	oidScrypt = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 11591, 4, 11}

	prfs = map[string]func() hash.Hash{
		"1.2.840.113549.2.7":  sha1.New,
		"1.2.840.113549.2.8":  sha256.New224,
		"1.2.840.113549.2.9":  sha256.New,
		"1.2.840.113549.2.10": sha512.New384,
		"1.2.840.113549.2.11": sha512.New,
	}

	// ciphers maps an encryption scheme to its key length and block
	// cipher.
	ciphers = map[string]struct {
		keyLen int
		block  func([]byte) (cipher.Block, error)
	}{
		"2.16.840.1.101.3.4.1.2":  {16, aes.NewCipher},
		"2.16.840.1.101.3.4.1.22": {24, aes.NewCipher},
		"2.16.840.1.101.3.4.1.42": {32, aes.NewCipher},
		"1.2.840.113549.3.7":      {24, des.NewTripleDESCipher},
	}
)

// maxIterations bounds PBKDF2's work so that a hostile key file cannot
// stall a reload; OpenSSL writes 2048.
const maxIterations = 10_000_000

// errUnsupportedEncryption: no passphrase can help.
var errUnsupportedEncryption = errors.New("unsupported private key encryption")

type encryptedPrivateKeyInfo struct {
	Algorithm     pkix.AlgorithmIdentifier
	EncryptedData []byte
}

type pbes2Params struct {
	KeyDerivationFunc pkix.AlgorithmIdentifier
	EncryptionScheme  pkix.AlgorithmIdentifier
}

type pbkdf2Params struct {
	Salt           []byte
	IterationCount int
	KeyLength      int                      `asn1:"optional"`
	PRF            pkix.AlgorithmIdentifier `asn1:"optional"`
}

// decryptPKCS8 decrypts the DER of an "ENCRYPTED PRIVATE KEY" block and
// returns the "PRIVATE KEY" block. A wrong password gives
// x509.IncorrectPasswordError; an encryption this package does not
// implement gives errUnsupportedEncryption.
func decryptPKCS8(der []byte, password string) (*pem.Block, error) {
	var info encryptedPrivateKeyInfo
	if rest, err := asn1.Unmarshal(der, &info); err != nil || len(rest) != 0 {
		return nil, fmt.Errorf("malformed encrypted private key")
	}
	if !info.Algorithm.Algorithm.Equal(oidPBES2) {
		return nil, fmt.Errorf("%w: %s (only PBES2 is supported; convert with `openssl pkcs8 -topk8 -v2 aes-256-cbc`)", errUnsupportedEncryption, info.Algorithm.Algorithm)
	}
	var params pbes2Params
	if _, err := asn1.Unmarshal(info.Algorithm.Parameters.FullBytes, &params); err != nil {
		return nil, fmt.Errorf("malformed PBES2 parameters")
	}
	kdf := params.KeyDerivationFunc
	if kdf.Algorithm.Equal(oidScrypt) {
		return nil, fmt.Errorf("%w: scrypt key derivation", errUnsupportedEncryption)
	}
	if !kdf.Algorithm.Equal(oidPBKDF2) {
		return nil, fmt.Errorf("%w: key derivation %s", errUnsupportedEncryption, kdf.Algorithm)
	}
	var kp pbkdf2Params
	if _, err := asn1.Unmarshal(kdf.Parameters.FullBytes, &kp); err != nil {
		return nil, fmt.Errorf("malformed PBKDF2 parameters")
	}
	prf := sha1.New
	if len(kp.PRF.Algorithm) > 0 {
		var ok bool
		if prf, ok = prfs[kp.PRF.Algorithm.String()]; !ok {
			return nil, fmt.Errorf("%w: PBKDF2 PRF %s", errUnsupportedEncryption, kp.PRF.Algorithm)
		}
	}
	if kp.IterationCount < 1 || kp.IterationCount > maxIterations {
		return nil, fmt.Errorf("%w: PBKDF2 iteration count %d", errUnsupportedEncryption, kp.IterationCount)
	}
	scheme := params.EncryptionScheme
	ci, ok := ciphers[scheme.Algorithm.String()]
	if !ok {
		return nil, fmt.Errorf("%w: cipher %s", errUnsupportedEncryption, scheme.Algorithm)
	}
	if kp.KeyLength != 0 && kp.KeyLength != ci.keyLen {
		return nil, fmt.Errorf("malformed PBKDF2 parameters: key length %d", kp.KeyLength)
	}
	var iv []byte
	if _, err := asn1.Unmarshal(scheme.Parameters.FullBytes, &iv); err != nil {
		return nil, fmt.Errorf("malformed cipher parameters")
	}
	key, err := deriveKey(prf, password, kp.Salt, kp.IterationCount, ci.keyLen)
	if err != nil {
		return nil, err
	}
	block, err := ci.block(key)
	if err != nil {
		return nil, err
	}
	if len(iv) != block.BlockSize() || len(info.EncryptedData) == 0 || len(info.EncryptedData)%block.BlockSize() != 0 {
		return nil, fmt.Errorf("malformed encrypted private key")
	}
	plain := make([]byte, len(info.EncryptedData))
	cipher.NewCBCDecrypter(block, iv).CryptBlocks(plain, info.EncryptedData)
	plain, ok = unpad(plain, block.BlockSize())
	if !ok {
		return nil, x509.IncorrectPasswordError
	}
	if _, err := x509.ParsePKCS8PrivateKey(plain); err != nil {
		return nil, x509.IncorrectPasswordError
	}
	return &pem.Block{Type: "PRIVATE KEY", Bytes: plain}, nil
}

// deriveKey is PBKDF2 (RFC 8018 §5.2). crypto/pbkdf2 is used when it
// accepts the parameters; in FIPS 140 mode it refuses short passphrases
// and salts that OpenSSL accepts, so pbkdf2HMAC is the fallback.
func deriveKey(prf func() hash.Hash, password string, salt []byte, iter, keyLen int) ([]byte, error) {
	if k, err := pbkdf2.Key(prf, password, salt, iter, keyLen); err == nil {
		return k, nil
	}
	return pbkdf2HMAC(prf, password, salt, iter, keyLen), nil
}

// pbkdf2HMAC is PBKDF2 written out (RFC 8018 §5.2), without FIPS checks.
func pbkdf2HMAC(prf func() hash.Hash, password string, salt []byte, iter, keyLen int) []byte {
	mac := hmac.New(prf, []byte(password))
	var out []byte
	for block := uint32(1); len(out) < keyLen; block++ {
		mac.Reset()
		mac.Write(salt)
		mac.Write([]byte{byte(block >> 24), byte(block >> 16), byte(block >> 8), byte(block)})
		u := mac.Sum(nil)
		t := append([]byte(nil), u...)
		for i := 1; i < iter; i++ {
			mac.Reset()
			mac.Write(u)
			u = mac.Sum(u[:0])
			for j := range t {
				t[j] ^= u[j]
			}
		}
		out = append(out, t...)
	}
	return out[:keyLen]
}

// unpad removes PKCS#7 padding.
func unpad(b []byte, size int) ([]byte, bool) {
	if len(b) == 0 {
		return nil, false
	}
	n := int(b[len(b)-1])
	if n == 0 || n > size || n > len(b) {
		return nil, false
	}
	for _, c := range b[len(b)-n:] {
		if int(c) != n {
			return nil, false
		}
	}
	return b[:len(b)-n], true
}
