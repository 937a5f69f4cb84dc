package config

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// Load reads the file at path and parses it with Parse, path naming the
// file in messages. A file that cannot be read gives the *fs.PathError of
// os.ReadFile; a file that is not a valid configuration gives an *Error.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, data)
}

// Parse parses one YAML document: a `mail` map of defaults and a
// `servers` list. It returns either a complete, validated *Config with
// every default applied, or an *Error listing every problem as
// "name:LINE: what is wrong". name is used in messages and as Config.File;
// relative certificate paths are taken from its directory. Parse reads
// every TLS file a server uses, each once, to check it and then to build
// the server's TLS settings (Server.TLS): the server uses them as they
// are and reads nothing itself, and a reload parses again, so it re-reads
// every file. The result is not shared with anything and must be treated
// as immutable.
func Parse(name string, data []byte) (*Config, error) {
	c := &collector{file: name}
	e := &env{
		hostname: defaultServerName(),
		dir:      filepath.Dir(name),
		pairs:    make(map[[3]string]bool),
		listens:  make(listenSet),
		zones:    make(map[string]LimitConnZone),
		tls:      newTLSLoader(),

		checkedLogs: make(map[string]bool),
	}
	var cfg *Config
	if root, ok := parseYAML(c, data); ok {
		cfg = build(c, e, root)
	}
	if cfg != nil && len(c.probs) == 0 {
		buildTLS(c, e, cfg)
	}
	if err := c.err(); err != nil {
		return nil, err
	}
	cfg.File = name
	return cfg, nil
}

// hostname is os.Hostname; tests replace it.
var hostname = os.Hostname

// defaultServerName is the default server_name: the machine's host name as
// gethostname() returns it (not FQDN-expanded), lower-cased, as nginx does.
func defaultServerName() string {
	h, err := hostname()
	if err != nil {
		return "localhost"
	}
	if h == "" {
		return "localhost"
	}
	return strings.ToLower(h)
}

// yamlLine matches the position prefix of yaml.v3 syntax errors.
var yamlLine = regexp.MustCompile(`(?s)^yaml: line (\d+): (.*)$`)

// parseYAML parses data into a node tree and returns the root node (nil
// for an empty document). ok is false after a syntax error.
func parseYAML(c *collector, data []byte) (root *yaml.Node, ok bool) {
	docs, err := decode(data)
	if err != nil {
		syntaxError(c, data, err)
		return nil, false
	}
	if len(docs) > 1 {
		c.errorf(docs[1].Line, "only one YAML document is allowed")
	}
	if len(docs) == 0 || len(docs[0].Content) == 0 {
		return nil, true
	}
	return deref(docs[0].Content[0]), true
}

// decode parses the first two documents of data (a second one is an
// error, so there is no need to look further).
func decode(data []byte) ([]*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var docs []*yaml.Node
	for len(docs) < 2 {
		var doc yaml.Node
		if err := dec.Decode(&doc); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return nil, err
		}
		docs = append(docs, &doc)
	}
	return docs, nil
}

// parserProblems are the problems yaml.v3's parser (not its scanner)
// reports. Their "line N" is the parser's 0-based mark, one less than
// the line (of the problem, or of the collection it was parsing, e.g.
// the `[` of an unclosed list): yaml.v3 adds one for scanner errors only.
var parserProblems = map[string]bool{
	"did not find expected ',' or ']'":       true,
	"did not find expected ',' or '}'":       true,
	"did not find expected '-' indicator":    true,
	"did not find expected <document start>": true,
	"did not find expected <stream-start>":   true,
	"did not find expected key":              true,
	"did not find expected node content":     true,
	"found duplicate %TAG directive":         true,
	"found duplicate %YAML directive":        true,
	"found incompatible YAML document":       true,
	"found undefined tag handle":             true,
}

// syntaxError records a YAML parser error, moving its line into the
// position. Some errors (bad UTF-8, control characters, bad escapes,
// unknown anchors) come without a line: locate finds it.
func syntaxError(c *collector, data []byte, err error) {
	msg := err.Error()
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		if line, err := strconv.Atoi(m[1]); err == nil {
			if parserProblems[m[2]] {
				line++
			}
			c.errorf(line, "%s", m[2])
			return
		}
	}
	c.errorf(locate(data, msg), "%s", strings.TrimPrefix(msg, "yaml: "))
}

// locate returns the first line n such that the first n lines of data
// fail to parse with the message msg, or 0 if there is none. The parser
// stops at the first error, so a prefix that contains the bad spot fails
// the same way; a binary search keeps this cheap.
func locate(data []byte, msg string) int {
	lines := bytes.SplitAfter(data, []byte("\n"))
	fails := func(n int) bool {
		_, err := decode(bytes.Join(lines[:n], nil))
		return err != nil && err.Error() == msg
	}
	if !fails(len(lines)) {
		return 0
	}
	lo, hi := 1, len(lines)
	for lo < hi {
		if mid := (lo + hi) / 2; fails(mid) {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}

// build checks the top level and resolves every server. It returns nil
// when there is nothing to build.
func build(c *collector, e *env, root *yaml.Node) *Config {
	if isNull(root) {
		c.errorf(max(lineOf(root), 1), "no servers")
		return nil
	}
	if root.Kind != yaml.MappingNode {
		c.errorf(root.Line, "expected a map with the keys mail and servers, got %s", describe(root))
		return nil
	}
	var mail settings
	var servers *yaml.Node
	var globals []pair
	serversLine := root.Line
	for _, p := range mapPairs(c, "top level", root) {
		switch p.key {
		case "mail":
			switch {
			case isNull(p.value):
			case p.value.Kind != yaml.MappingNode:
				c.errorf(p.value.Line, "mail: expected a map, got %s", describe(p.value))
			default:
				mail = readSettings(c, "mail", p.value, false)
			}
		case "servers":
			servers, serversLine = p.value, p.line
		default:
			if slices.Contains(globalKeys, p.key) {
				globals = append(globals, p)
				continue
			}
			if _, known := directives[p.key]; known {
				c.errorf(p.line, "unknown top-level key %q: directives go in mail or in a server", p.key)
			} else {
				c.errorf(p.line, "unknown top-level key %q, expected one of: mail, servers, %s", p.key, strings.Join(globalKeys, ", "))
			}
		}
	}
	if isNull(servers) || servers.Kind == yaml.SequenceNode && len(servers.Content) == 0 {
		c.errorf(serversLine, "no servers")
		return nil
	}
	if servers.Kind != yaml.SequenceNode {
		c.errorf(servers.Line, "servers: expected a list, got %s", describe(servers))
		return nil
	}
	cfg := &Config{LogFormat: "text", LogLevel: "info", EventLoops: EventLoopsAuto}
	readGlobals(c, e, cfg, globals)
	for _, item := range servers.Content {
		n := deref(item)
		if n == nil || n.Kind != yaml.MappingNode {
			c.errorf(item.Line, "servers: each server must be a map, got %s", describe(n))
			continue
		}
		s := readSettings(c, "server", n, true)
		cfg.Servers = append(cfg.Servers, resolveServer(c, e, n.Line, mail, s))
		resolveThrottle(c, cfg, mail, s)
	}
	return cfg
}
