package nginxconf

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files of testdata/nginx")

// corpus is testdata/nginx: good/NAME/ holds configurations that translate
// (expected.yaml is the translation), bad/NAME/ configurations that do not
// (expected.err is the error text). In both, nginx.conf is the file to
// read; prefix.txt (a directory relative to the case) and globals.txt are
// nginx's -p and -g when present.
const corpus = "../../testdata/nginx"

// fakeRoot is where the golden translations pretend the corpus is, so that
// the absolute paths in them do not depend on the checkout.
const fakeRoot = "/corpus"

// cases returns the case directories under corpus/kind, absolute.
func cases(t testing.TB, kind string) []string {
	t.Helper()
	root, err := filepath.Abs(corpus)
	if err != nil {
		t.Fatal(err)
	}
	// Absolute: with a prefix (-p), nginx reads a relative file name from
	// the prefix.
	dirs, err := filepath.Glob(filepath.Join(root, kind, "*"))
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no cases in %s/%s: %v", root, kind, err)
	}
	return dirs
}

// caseOptions reads a case's prefix.txt and globals.txt, with the case
// directory at dir.
func caseOptions(t testing.TB, caseDir, dir string) Options {
	t.Helper()
	o := Options{CPUs: 2} // worker_processes auto: the same everywhere
	if b, err := os.ReadFile(filepath.Join(caseDir, "prefix.txt")); err == nil {
		o.Prefix = filepath.Join(dir, strings.TrimSpace(string(b)))
	}
	if b, err := os.ReadFile(filepath.Join(caseDir, "globals.txt")); err == nil {
		o.Globals = string(b)
	}
	return o
}

// fakeFS serves fakeRoot from the real corpus.
func fakeFS(t testing.TB, o Options) Options {
	root, err := filepath.Abs(corpus)
	if err != nil {
		t.Fatal(err)
	}
	real := func(name string) string { return root + strings.TrimPrefix(name, fakeRoot) }
	o.ReadFile = func(name string) ([]byte, error) { return os.ReadFile(real(name)) }
	o.Glob = func(pattern string) ([]string, error) {
		found, err := filepath.Glob(real(pattern))
		for i, f := range found {
			found[i] = fakeRoot + strings.TrimPrefix(f, root)
		}
		return found, err
	}
	return o
}

// golden compares got with the file, or rewrites it under -update.
func golden(t *testing.T, file string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(file, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (run go test ./config/nginxconf -update to create it)", err)
	}
	if string(got) != string(want) {
		t.Errorf("%s differs (go test ./config/nginxconf -update rewrites it):\n--- got\n%s\n--- want\n%s", file, got, want)
	}
}

// TestGoodCorpus translates every good case: the translation matches its
// golden file and loads with config.Parse.
func TestGoodCorpus(t *testing.T) {
	for _, dir := range cases(t, "good") {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			r, err := TranslateFile(filepath.Join(dir, "nginx.conf"), caseOptions(t, dir, dir))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := r.Config(); err != nil {
				t.Fatalf("the translation does not load: %v\n%s", err, r.YAML)
			}
			fake := filepath.Join(fakeRoot, "good", filepath.Base(dir))
			r, err = TranslateFile(filepath.Join(fake, "nginx.conf"), fakeFS(t, caseOptions(t, dir, fake)))
			if err != nil {
				t.Fatal(err)
			}
			golden(t, filepath.Join(dir, "expected.yaml"), r.YAML)
		})
	}
}

// TestBadCorpus loads every bad case: it fails with exactly the golden
// error text (the corpus directory written as /corpus).
func TestBadCorpus(t *testing.T) {
	root, err := filepath.Abs(corpus)
	if err != nil {
		t.Fatal(err)
	}
	for _, dir := range cases(t, "bad") {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			cfg, err := Load(filepath.Join(dir, "nginx.conf"), caseOptions(t, dir, dir))
			if err == nil {
				t.Fatalf("loaded: %+v", cfg)
			}
			got := strings.ReplaceAll(err.Error(), root, fakeRoot) + "\n"
			golden(t, filepath.Join(dir, "expected.err"), []byte(got))
		})
	}
}
