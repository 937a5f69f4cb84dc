module mailproxy

go 1.26

require (
	github.com/emersion/go-imap/v2 v2.0.0-beta.8
	github.com/emersion/go-sasl v0.0.0-20241020182733-b788ff22d5a6
	github.com/emersion/go-smtp v0.25.1
	github.com/pires/go-proxyproto v0.15.0
	go.yaml.in/yaml/v3 v3.0.6
)

require github.com/emersion/go-message v0.18.2 // indirect
