package nginxconf

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	yaml "go.yaml.in/yaml/v3"

	"mailproxy/config"
)

// addCorpus seeds f with every nginx file of testdata/nginx.
func addCorpus(f *testing.F) {
	var files []string
	for _, pattern := range []string{"*/*/*.conf", "*/*/*/*.conf", "*/*/*/.*.conf"} {
		m, _ := filepath.Glob(filepath.Join(corpus, pattern))
		files = append(files, m...)
	}
	if len(files) == 0 {
		f.Fatal("no corpus")
	}
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("a \"b\\\"c\" 'd' ${e}f {\n g;\n}\n# x"))
	f.Add([]byte("}"))
	f.Add([]byte("a \"b"))
}

// FuzzParse checks that the parser never panics and keeps its promises:
// either a tree or exactly one positioned problem; every word on a line
// of the input.
func FuzzParse(f *testing.F) {
	addCorpus(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		IsNginx(data)
		ds, err := Parse("fuzz.conf", data)
		if err != nil {
			var ce *config.Error
			if !errors.As(err, &ce) || len(ce.Problems) != 1 || ce.Problems[0].File != "fuzz.conf" {
				t.Fatalf("error %T %v: want one problem in fuzz.conf", err, err)
			}
			if l := ce.Problems[0].Line; l < 1 || l > bytes.Count(data, []byte("\n"))+1 {
				t.Fatalf("problem at line %d of a %d-line input", l, bytes.Count(data, []byte("\n"))+1)
			}
			return
		}
		lines := bytes.Count(data, []byte("\n")) + 1
		var walk func([]*Directive, int)
		walk = func(ds []*Directive, depth int) {
			if depth > maxDepth {
				t.Fatal("nesting beyond maxDepth")
			}
			for _, d := range ds {
				for _, w := range append([]Word{{Text: d.Name, Pos: d.Pos}}, d.Args...) {
					if w.Pos.Line < 1 || w.Pos.Line > lines || w.Pos.File != "fuzz.conf" {
						t.Fatalf("word %q at %v in a %d-line input", w.Text, w.Pos, lines)
					}
				}
				if !d.IsBlock && d.Block != nil {
					t.Fatalf("%s: contents without a block", d.Name)
				}
				walk(d.Block, depth+1)
			}
		}
		walk(ds, 0)
	})
}

// FuzzTranslate checks that the translation never panics and that what it
// writes is always a YAML map with one servers entry per server block.
// Included files do not exist (the file system is empty but for the
// input).
func FuzzTranslate(f *testing.F) {
	addCorpus(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		o := memFS(map[string]string{"/etc/nginx/nginx.conf": string(data)})
		o.Globals = "pid /run/fuzz.pid;"
		r, err := TranslateFile("/etc/nginx/nginx.conf", o)
		if err != nil {
			var ce *config.Error
			if !errors.As(err, &ce) || len(ce.Problems) == 0 {
				t.Fatalf("error %T %v: want a *config.Error", err, err)
			}
			return
		}
		var doc struct {
			Servers []yaml.Node `yaml:"servers"`
		}
		if err := yaml.Unmarshal(r.YAML, &doc); err != nil {
			t.Fatalf("the translation is not YAML: %v\n%s", err, r.YAML)
		}
		if len(doc.Servers) == 0 {
			t.Fatalf("no servers in\n%s", r.YAML)
		}
		if n := bytes.Count(r.YAML, []byte("\n")); n != len(r.source) {
			t.Fatalf("%d lines, %d positions", n, len(r.source))
		}
	})
}
