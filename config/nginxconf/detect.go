package nginxconf

import (
	"regexp"

	yaml "go.yaml.in/yaml/v3"
)

// directiveNameRE is what an nginx directive name looks like.
var directiveNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// IsNginx reports whether data is an nginx configuration rather than
// mailproxy YAML. The rule: its first statement, read with nginx's
// tokenizer (comments skipped), is a directive name followed by
// arguments and a ";" or a "{", and the text is not a YAML document whose
// top level is a map (every mailproxy configuration is one). A YAML key
// always ends with ":" and so is never a directive name, and nginx text
// never parses as a YAML map, so neither kind of file is mistaken for
// the other; a broken YAML file stays YAML and gets YAML's messages.
func IsNginx(data []byte) bool {
	words, how, err := newLexer("", data, false).next()
	if err != nil || (how != endStatement && how != endBlockStart) || !directiveNameRE.MatchString(words[0].Text) {
		return false
	}
	var doc yaml.Node
	if yaml.Unmarshal(data, &doc) == nil && len(doc.Content) > 0 && doc.Content[0].Kind == yaml.MappingNode {
		return false
	}
	return true
}
