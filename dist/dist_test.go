package dist

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"mailproxy/internal/mailtest"
)

// binary builds cmd/mailproxy once per test run.
func binary(t *testing.T) string {
	t.Helper()
	bin, err := mailtest.Build("mailproxy/cmd/mailproxy")
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

func TestMain(m *testing.M) {
	code := m.Run()
	mailtest.RemoveBuilds()
	os.Exit(code)
}

// installedConfig lays out text as /etc/mailproxy does after the package's
// postinst: the configuration next to a generated cert.pem and key.pem.
func installedConfig(t *testing.T, text string) string {
	t.Helper()
	dir := t.TempDir()
	cert, key, err := mailtest.SelfSignedCert("mail.example.com")
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{"cert.pem": cert, "key.pem": key, "mailproxy.yaml": []byte(text)}
	files["ticket.key"] = []byte(strings.Repeat("k", 80)) // ssl_session_ticket_key, commented out
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dir, "mailproxy.yaml")
}

func checkConfig(t *testing.T, file string) {
	t.Helper()
	out, err := exec.Command(binary(t), "-t", "-c", file).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "configuration ok") {
		t.Fatalf("mailproxy -t: %v\n%s", err, out)
	}
}

func TestExampleConfig(t *testing.T) {
	raw, err := os.ReadFile("mailproxy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	checkConfig(t, installedConfig(t, string(raw)))
}

// commentedOut matches the example's commented-out settings: "# key:",
// "# - item" or a deeper-indented "#   line". Prose comments start
// otherwise (a capital, a path, a word without a colon).
var commentedOut = regexp.MustCompile(`(?m)^(\s*)# ((?:[a-z_]+:|- |  ).*)$`)

func TestExampleConfigCommentedSettings(t *testing.T) {
	raw, err := os.ReadFile("mailproxy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	text := commentedOut.ReplaceAllString(string(raw), "$1$2")
	for _, want := range []string{"\n  auth_http_header:", "\n  server_name:", "smtp_auth: [none]", "proxy_protocol: true",
		"\nerror_log:\n  - /var/log/mailproxy/mailproxy.log info\n  - syslog:", "\nmetrics_listen:", "\nlog_format: nginx"} {
		if !strings.Contains(text, want) {
			t.Fatalf("uncommenting missed %q:\n%s", want, text)
		}
	}
	checkConfig(t, installedConfig(t, text))
}

// TestSystemdVerify runs `systemd-analyze verify` on the units in a
// scratch root holding the host's units, /usr/bin/mailproxy (a stand-in:
// verify only checks that Exec programs exist and are executable) and
// /bin/kill. Any output is a failure: verify exits 0 even on unknown keys.
func TestSystemdVerify(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze not installed (Debian package systemd)")
	}
	units := "/usr/lib/systemd/system"
	if _, err := os.Stat(filepath.Join(units, "sysinit.target")); err != nil {
		t.Skip("no systemd units in", units)
	}
	kill, err := exec.LookPath("kill")
	if err != nil || !filepath.IsAbs(kill) {
		t.Skip("no kill(1)")
	}
	root := t.TempDir()
	for _, d := range []string{"usr/bin", "usr/lib/systemd", "etc/systemd/system"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for link, target := range map[string]string{"bin": "usr/bin", "lib": "usr/lib"} {
		if err := os.Symlink(target, filepath.Join(root, link)); err != nil {
			t.Fatal(err)
		}
	}
	for _, bin := range []string{"usr/bin/mailproxy", "usr/bin/mailproxy-auth"} {
		if err := os.WriteFile(filepath.Join(root, bin), []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	copies := [][2]string{
		{units, "usr/lib/systemd"},
		{kill, "usr/bin/kill"},
		{"systemd/mailproxy.service", "etc/systemd/system/"},
		{"systemd/mailproxy.socket", "etc/systemd/system/"},
		{"systemd/mailproxy-auth.service", "etc/systemd/system/"},
	}
	for _, c := range copies {
		if out, err := exec.Command("cp", "-a", c[0], filepath.Join(root, c[1])).CombinedOutput(); err != nil {
			t.Fatalf("cp %s: %v\n%s", c[0], err, out)
		}
	}
	cmd := exec.Command(analyze, "verify", "--man=no", "--root="+root,
		filepath.Join(root, "etc/systemd/system/mailproxy.service"),
		filepath.Join(root, "etc/systemd/system/mailproxy.socket"),
		filepath.Join(root, "etc/systemd/system/mailproxy-auth.service"))
	out, err := cmd.CombinedOutput()
	if err != nil || len(out) > 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
}

// TestExampleConfigHowTo: the example says how to make it pass `mailproxy
// -t` outside the package; doing what it says in an empty directory
// works.
func TestExampleConfigHowTo(t *testing.T) {
	raw, err := os.ReadFile("mailproxy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^# Run: (openssl req .*)$`).FindStringSubmatch(string(raw))
	if m == nil {
		t.Fatal("the example does not say how to make its certificate")
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "mailproxy.yaml")
	if err := os.WriteFile(file, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(binary(t), "-t", "-c", file).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "cert.pem") {
		t.Fatalf("without the certificate -t should fail naming it: %v\n%s", err, out)
	}
	cmd := exec.Command("sh", "-c", m[1])
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", m[1], err, out)
	}
	checkConfig(t, file)
}

// TestManPages: the pages the package installs format without a groff
// warning.
func TestManPages(t *testing.T) {
	groff, err := exec.LookPath("groff")
	if err != nil {
		t.Fatal("groff is needed (Debian package groff-base)")
	}
	for _, page := range []string{"../docs/mailproxy.8", "../docs/mailproxy.yaml.5"} {
		out, err := exec.Command(groff, "-man", "-ww", "-z", "-Tutf8", page).CombinedOutput()
		if err != nil || len(out) > 0 {
			t.Errorf("groff %s: %v\n%s", page, err, out)
		}
	}
}

// TestCopyrightListsEveryModule: the copyright file names every Go module
// built into the two programs the package installs.
func TestCopyrightListsEveryModule(t *testing.T) {
	copyright, err := os.ReadFile("deb/copyright")
	if err != nil {
		t.Fatal(err)
	}
	for _, pkg := range []string{"mailproxy/cmd/mailproxy", "mailproxy/cmd/mailproxy-auth"} {
		bin, err := mailtest.Build(pkg)
		if err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command("go", "version", "-m", bin).Output()
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(out), "\n") {
			f := strings.Fields(line)
			if len(f) >= 2 && f[0] == "dep" && !strings.Contains(string(copyright), f[1]) {
				t.Errorf("deb/copyright does not name %s (in %s)", f[1], pkg)
			}
		}
	}
}
