package config

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestManPageListsEveryKey: docs/mailproxy.yaml.5 names every key the
// parser accepts, in bold (.B or .BR), so the page cannot fall behind.
func TestManPageListsEveryKey(t *testing.T) {
	page, err := os.ReadFile("../docs/mailproxy.yaml.5")
	if err != nil {
		t.Fatal(err)
	}
	bold := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^\.BR? (.*)$`).FindAllStringSubmatch(string(page), -1) {
		for _, w := range strings.Fields(strings.NewReplacer(`"`, " ", ",", " ", `\-`, "-").Replace(m[1])) {
			bold[w] = true
		}
	}
	keys := append([]string{"mail", "servers"}, globalKeys...)
	for k := range directives {
		keys = append(keys, k)
	}
	for _, k := range keys {
		if !bold[k] {
			t.Errorf("mailproxy.yaml(5) does not name key %q", k)
		}
	}
}
