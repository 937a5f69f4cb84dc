// Package e2e holds black-box tests that run the mailproxy binary as a
// separate process and observe it from outside: descriptors per idle
// session, the kernel's zero-copy path, exit statuses and signals.
//
// Its subfolders are the project's test tools, never shipped:
// conformance replays the recorded nginx dialogues of testdata/conformance
// against the binary; bench, cmd/mailbench and cmd/mailload are the
// side-by-side benchmark behind `make bench` and its load generator.
package e2e
