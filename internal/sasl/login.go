package sasl

// LOGIN: the user name (challenge "Username:", or the initial response),
// then the password (challenge "Password:"); Auth-Method plain.
func init() {
	register(&mechanism{
		name: Login, keyword: "login", always: true, order: 20,
		start: firstOrIR(UsernameChallenge),
		respond: func(e *Exchange, token []byte, challenged bool) Step {
			dec, refused := e.decode(token, challenged)
			if refused != nil {
				return *refused
			}
			if e.user == nil {
				e.user = append([]byte{}, dec...)
				return Step{Challenge: PasswordChallenge}
			}
			return done(MethodPlain, string(e.user), string(dec), "")
		},
	})
}
