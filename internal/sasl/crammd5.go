package sasl

// CRAM-MD5 (RFC 2195): the challenge is the salt, the response "user
// digest" with a 32-byte digest; never with an initial response. The auth
// service checks the digest (Auth-Salt, Auth-Pass).
func init() {
	register(&mechanism{
		name: CRAMMD5, keyword: "cram-md5", order: 30,
		start: func(e *Exchange, _ []byte, hasIR bool, salt func() string) Step {
			if hasIR {
				return Step{Err: ErrMechanism}
			}
			e.salt = salt()
			return Step{Challenge: Encode([]byte(e.salt))}
		},
		respond: func(e *Exchange, token []byte, challenged bool) Step {
			dec, refused := e.decode(token, challenged)
			if refused != nil {
				return *refused
			}
			user, digest, err := SplitCRAM(dec)
			if err != nil {
				return Step{Err: err}
			}
			return done(MethodCRAMMD5, user, digest, e.salt)
		},
	})
}
