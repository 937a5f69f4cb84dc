// Package e2e holds black-box tests that run the mailproxy binary as a
// separate process and observe it from outside: descriptors per idle
// session, the kernel's zero-copy path, exit statuses and signals.
package e2e
