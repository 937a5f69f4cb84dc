package e2e

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestLayering checks the import rules of the design: a protocol front
// end never imports config or proxy (it takes its own Options, and the
// session engine drives it); authhttp and tls import no project package;
// config never imports proxy.
func TestLayering(t *testing.T) {
	rules := []struct {
		pkg       string
		forbidden []string // project packages it must not depend on; "*" for any
	}{
		{"mailproxy/imap", []string{"mailproxy/config", "mailproxy/proxy"}},
		{"mailproxy/pop3", []string{"mailproxy/config", "mailproxy/proxy"}},
		{"mailproxy/smtp", []string{"mailproxy/config", "mailproxy/proxy"}},
		{"mailproxy/sieve", []string{"mailproxy/config", "mailproxy/proxy"}},
		{"mailproxy/internal/session", []string{"mailproxy/config", "mailproxy/proxy"}},
		{"mailproxy/internal/sasl", []string{"*"}},
		{"mailproxy/authhttp", []string{"*"}},
		{"mailproxy/tls", []string{"*"}},
		{"mailproxy/config", []string{"mailproxy/proxy"}},
	}
	for _, r := range rules {
		out, err := exec.Command("go", "list", "-deps", r.pkg).Output()
		if err != nil {
			t.Fatalf("go list -deps %s: %v", r.pkg, err)
		}
		for _, dep := range strings.Fields(string(out)) {
			if dep == r.pkg || !strings.HasPrefix(dep, "mailproxy/") {
				continue
			}
			if slices.Contains(r.forbidden, "*") || slices.Contains(r.forbidden, dep) {
				t.Errorf("%s depends on %s", r.pkg, dep)
			}
		}
	}
}
