// Package mailtest holds helpers for mailproxy's tests, tools and demo:
// in-memory backends for the three protocols the proxy serves, sample
// messages, throw-away TLS certificates (made by internal/pkitest), and
// small pieces the tests share.
//
//   - StartIMAPBackend: go-imap's imapserver with imapmemserver.
//   - StartPOP3Backend: a small hand-written RFC 1939 server whose
//     maildrops hold the same DemoMessages.
//   - StartSMTPBackend: go-smtp's server, recording every message.
//   - StartXCLIENTBackend: a small hand-written SMTP server that also
//     understands XCLIENT and records the exact command lines it receives.
//   - Serve: the accept loop of the hand-written backends (and of the
//     benchmark's), with Close waiting for every handler.
//   - SyncBuffer: a buffer that captures logs or bytes from concurrent
//     writers.
//   - Build: a command of this module built once per test process.
//
// Every backend listens on plain TCP, serves each connection in its own
// goroutine and closes every connection on Close.
//
// It is for tests, the tools under e2e/ and the demo only; the proxy
// itself must not import it (go-imap v2 is a beta, see DEPENDENCIES.md).
package mailtest
