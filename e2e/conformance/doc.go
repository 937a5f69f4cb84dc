// Package conformance replays the recorded nginx mail-proxy dialogues of
// testdata/conformance (*.case, format and semantics in README.md there)
// against a mailproxy binary: it plays the client, the auth_http service,
// the backend and a DNS server, and judges the session with the README's
// verdict rules (§6). run_nginx.py in the same folder is the reference
// implementation of these semantics.
//
// Usage from a test:
//
//	cases, err := conformance.LoadDir("testdata/conformance")
//	cert, key, err := conformance.WriteTestCert(dir)
//	bin, err := mailtest.Build("mailproxy/cmd/mailproxy") // or an existing binary
//	res := conformance.Run(cases[i], conformance.Env{
//		Binary: bin, Cert: cert, Key: key, WorkDir: t.TempDir()})
//	if !res.Passed() { t.Error(res.Failures, res.YAML, res.Stderr) }
//
// The building blocks are exported for tools and tests: Parse and
// ParseFile (the case format), Vars (placeholders and capture matching),
// ServerYAML (the nginx → YAML translation) and DNSResponse (the DNS
// answers).
package conformance
