package sasl

// PLAIN (RFC 4616): authzid NUL authcid NUL password, the authzid dropped
// as nginx drops it. An empty challenge asks for the response.
func init() {
	register(&mechanism{
		name: Plain, keyword: "plain", always: true, order: 10,
		start: firstOrIR(""),
		respond: func(e *Exchange, token []byte, challenged bool) Step {
			dec, refused := e.decode(token, challenged)
			if refused != nil {
				return *refused
			}
			user, pass, err := SplitPlain(dec)
			if err != nil {
				return Step{Err: err}
			}
			return done(MethodPlain, user, pass, "")
		},
	})
}
