package sasl

// EXTERNAL (RFC 4422 appendix A): the user name (challenge "Username:",
// or the initial response) and no password; the auth service judges the
// client certificate (Auth-SSL-*).
func init() {
	register(&mechanism{
		name: External, keyword: "external", order: 40,
		start: firstOrIR(UsernameChallenge),
		respond: func(e *Exchange, token []byte, challenged bool) Step {
			dec, refused := e.decode(token, challenged)
			if refused != nil {
				return *refused
			}
			return done(MethodExternal, string(dec), "", "")
		},
	})
}
