package proxy_test

import (
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"

	"mailproxy/internal/mailtest"
)

// testLogs collects, at debug level, every log line every proxy of this
// package's tests writes; TestMain then checks that no test password is
// in any of them.
var testLogs = &mailtest.SyncBuffer{}

func testLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(testLogs, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// testPasswords are the passwords the tests log in with, in clear and in
// the base64 forms SASL carries them in.
var testPasswords = []string{
	"secret",
	"c2VjcmV0",             // base64("secret"): AUTH LOGIN
	"AGFsaWNlAHNlY3JldA==", // "\0alice\0secret": AUTH PLAIN
	"AGNhcm9sAHNlY3JldA==", // "\0carol\0secret"
}

func TestMain(m *testing.M) {
	code := m.Run()
	logs := testLogs.String()
	if code == 0 && !testing.Short() {
		// With -run, the chosen tests may log no session at all.
		if !strings.Contains(logs, `msg="session done"`) && flag.Lookup("test.run").Value.String() == "" {
			fmt.Fprintln(os.Stderr, "no session was logged: the credential check saw nothing")
			code = 1
		}
		for _, line := range strings.Split(logs, "\n") {
			for _, pw := range testPasswords {
				// "shared-secret" is the X-Auth-Key value, not a password.
				if strings.Contains(strings.ReplaceAll(line, "shared-secret", ""), pw) {
					fmt.Fprintf(os.Stderr, "a log line contains the test password %q:\n%s\n", pw, line)
					code = 1
				}
			}
		}
	}
	os.Exit(code)
}
