package nginxconf

import (
	"os"
	"path/filepath"
	"testing"
)

func TestIsNginx(t *testing.T) {
	for in, want := range map[string]bool{
		"mail { server { listen 143; } }":                               true,
		"# nginx.conf\n\nuser www-data;\nworker_processes auto;\n":      true,
		"mail {\n    auth_http 127.0.0.1:9000;\n}\n":                    true,
		"include /etc/nginx/mail.conf;":                                 true,
		"events {}":                                                     true,
		"mail:\n  auth_http: http://127.0.0.1:9000\nservers: []\n":      false,
		"# a YAML file\nservers:\n  - listen: [143]\n":                  false,
		"mail: {auth_http: x}\nservers:\n  - {listen: [\"143 ssl\"]}\n": false,
		"servers:\n  - listen: 143\n bad indentation\n":                 false,
		"mail: {":            false,
		"":                   false,
		"# only a comment\n": false,
		"just words":         false,
		"a: b;":              false,
		"\"mail\" {}":        true,
		"1abc;":              false,
		";":                  false,
	} {
		if got := IsNginx([]byte(in)); got != want {
			t.Errorf("IsNginx(%q) = %v, want %v", in, got, want)
		}
	}
}

// TestIsNginxCorpus checks the rule on every nginx file of the corpus and
// on the project's YAML configurations.
func TestIsNginxCorpus(t *testing.T) {
	nginx, _ := filepath.Glob(filepath.Join(corpus, "*", "*", "nginx.conf"))
	yamls, _ := filepath.Glob(filepath.Join(corpus, "good", "*", "expected.yaml"))
	more, _ := filepath.Glob("../../cmd/mailproxy-demo/*.yaml")
	yamls = append(yamls, more...)
	if len(nginx) == 0 || len(yamls) == 0 {
		t.Fatal("no files")
	}
	for _, files := range []struct {
		list []string
		want bool
	}{{nginx, true}, {yamls, false}} {
		for _, f := range files.list {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if got := IsNginx(data); got != files.want {
				t.Errorf("IsNginx(%s) = %v, want %v", f, got, files.want)
			}
		}
	}
}
