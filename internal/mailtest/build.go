package mailtest

import (
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sync"
)

// builds holds Build's binaries, one per package, each in a temporary
// directory of its own.
var builds struct {
	mu   sync.Mutex
	bins map[string]*builtBinary
}

type builtBinary struct {
	once sync.Once
	dir  string
	path string
	err  error
}

// Build compiles the main package pkg (an import path such as
// "mailproxy/cmd/mailproxy") with the local toolchain, from inside the
// module (where tests run), once per process: later calls for pkg return
// the first call's binary or error. Different packages may build at the
// same time. RemoveBuilds deletes the binaries.
func Build(pkg string) (string, error) {
	builds.mu.Lock()
	if builds.bins == nil {
		builds.bins = map[string]*builtBinary{}
	}
	b := builds.bins[pkg]
	if b == nil {
		b = &builtBinary{}
		builds.bins[pkg] = b
	}
	builds.mu.Unlock()
	b.once.Do(func() {
		dir, err := os.MkdirTemp("", "mailproxy-build-")
		if err != nil {
			b.err = fmt.Errorf("mailtest: %w", err)
			return
		}
		b.dir, b.path = dir, filepath.Join(dir, path.Base(pkg))
		cmd := exec.Command("go", "build", "-o", b.path, pkg)
		cmd.Env = append(os.Environ(), "GOTOOLCHAIN=local")
		if out, err := cmd.CombinedOutput(); err != nil {
			b.err = fmt.Errorf("go build %s: %v\n%s", pkg, err, out)
		}
	})
	return b.path, b.err
}

// RemoveBuilds deletes every binary Build made, for a TestMain to call
// once the tests have run.
func RemoveBuilds() {
	builds.mu.Lock()
	defer builds.mu.Unlock()
	for _, b := range builds.bins {
		if b.dir != "" {
			os.RemoveAll(b.dir)
		}
	}
}
