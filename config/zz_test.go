package config

import (
	"fmt"
	"testing"
)

func TestZZ(t *testing.T) {
	for _, s := range []string{"a: 1\nb: \xff\n", "a: 1\nb: \x01\n", "a: 1\n\xfe\xff", "\xef\xbb\xbfservers: []\n", "a: \"\\q\"\n", "a: [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[", "a: *b\n", "a: &x 1\na: &x 2\n", "a: !!int x\n", "a: !!binary AAAA\n"} {
		_, err := Parse("t", []byte(s))
		fmt.Printf("%q -> %v\n", s[:min(len(s), 20)], err)
	}
}
