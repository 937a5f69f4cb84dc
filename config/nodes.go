package config

import (
	yaml "go.yaml.in/yaml/v3"
)

// This file holds the helpers that look at raw YAML nodes. The package walks
// yaml.Node trees by hand instead of decoding into structs: that way unknown
// keys, duplicate keys and wrong types are caught at every level (the
// decoder's KnownFields option is not inherited by nested decodes), and each
// message carries the line and the YAML name of the key.

// maxAliasDepth bounds alias chains; the schema is only a few levels deep,
// so walking aliases can never loop for long.
const maxAliasDepth = 16

// deref follows aliases (*name) to the anchored node. It returns nil for a
// nil node or an over-long chain.
func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode; i++ {
		if i == maxAliasDepth {
			return nil
		}
		n = n.Alias
	}
	return n
}

// isNull reports whether n is an absent or null value (`key:` or `~`).
func isNull(n *yaml.Node) bool {
	return n == nil || (n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null")
}

// describe names the YAML type of n for messages ("a list", "a boolean"),
// never a Go type.
func describe(n *yaml.Node) string {
	if n == nil {
		return "nothing"
	}
	switch n.Kind {
	case yaml.MappingNode:
		return "a map"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!str":
			return "a string"
		case "!!int":
			return "an integer"
		case "!!float":
			return "a number"
		case "!!bool":
			return "a boolean"
		case "!!null":
			return "null"
		case "!!timestamp":
			return "a timestamp"
		case "!!binary":
			return "binary data"
		}
		return "a value tagged " + n.Tag
	}
	return "an unsupported YAML node"
}

// pair is one key/value entry of a YAML map.
type pair struct {
	key   string
	line  int // line of the key
	value *yaml.Node
}

// mapPairs returns the entries of map node n in file order. It reports
// non-string keys, merge keys (<<) and duplicate keys, and leaves them out.
// what names the map in messages ("mail", "listen").
func mapPairs(c *collector, what string, n *yaml.Node) []pair {
	var out []pair
	seen := make(map[string]int)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := deref(n.Content[i]), n.Content[i+1]
		if k == nil || k.Kind != yaml.ScalarNode {
			c.errorf(n.Content[i].Line, "%s: keys must be strings, got %s", what, describe(k))
			continue
		}
		if k.ShortTag() == "!!merge" {
			c.errorf(k.Line, "%s: merge keys (<<) are not supported", what)
			continue
		}
		if first, dup := seen[k.Value]; dup {
			c.errorf(k.Line, "%s: duplicate key %q, first defined at line %d", what, k.Value, first)
			continue
		}
		seen[k.Value] = k.Line
		if dv := deref(v); dv != nil {
			v = dv
		}
		out = append(out, pair{key: k.Value, line: k.Line, value: v})
	}
	return out
}

// items returns the elements of n with aliases followed: the items of a
// list, or n itself when it is a single scalar and one is allowed. It
// reports null and (when !single) non-lists.
func items(c *collector, key string, n *yaml.Node, single bool) ([]*yaml.Node, bool) {
	switch {
	case isNull(n):
		c.errorf(lineOf(n), "%s: missing value", key)
		return nil, false
	case n.Kind == yaml.SequenceNode:
		out := make([]*yaml.Node, len(n.Content))
		for i, it := range n.Content {
			out[i] = deref(it)
			if out[i] == nil {
				out[i] = it
			}
		}
		return out, true
	case n.Kind == yaml.ScalarNode && single:
		return []*yaml.Node{n}, true
	}
	c.errorf(n.Line, "%s: expected a list, got %s", key, describe(n))
	return nil, false
}

// itemList parses the items of a list that must not be empty (or a
// single scalar standing for a one-item list) with parse. Good items are
// returned even when others are bad, so later checks still see them; ok
// is false when any item is.
func itemList[T any](c *collector, key string, n *yaml.Node, parse func(*collector, string, *yaml.Node) (T, bool)) ([]T, bool) {
	list, ok := items(c, key, n, true)
	if !ok {
		return nil, false
	}
	if len(list) == 0 {
		c.errorf(n.Line, "%s: must not be empty", key)
		return nil, false
	}
	var out []T
	for _, it := range list {
		v, good := parse(c, key, it)
		if good {
			out = append(out, v)
		}
		ok = ok && good
	}
	return out, ok
}

// lineOf returns n's line, or 0 for a nil node.
func lineOf(n *yaml.Node) int {
	if n == nil {
		return 0
	}
	return n.Line
}
