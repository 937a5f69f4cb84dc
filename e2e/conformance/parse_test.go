package conformance

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

const sampleCase = `# comment
name pop3-sample
spec 7 11.5
flag head-only
note "a note"
config "listen ${LISTEN};"
config "protocol pop3;"

  # indented comment
client-expect "+OK POP3 ready ${SALT}\r\n"
client-send "AUTH PLAIN\r\n"
	"AHUAcA==\r\n"
client-silence 0.3
client-closed
client-closed 1.5
client-sleep 4
client-starttls
client-shutdown
auth-expect "GET /auth HTTP/1.0\r\n"
    "Host: 127.0.0.1\r\n"
    "\r\n"
auth-reply delay=1 gap=0.2 "HTTP/1.0 200 OK\r\nAuth-Sta" "tus: OK\r\n"
    "\r\n"
auth-hold 4
auth-reply "x"
backend-send "+OK \x00\xc3\xA9 \"q\" \\ \t\r\n"
backend-expect "USER u\r\n"
backend-sleep 0.6
backend-closed
backend-closed 2
backend-close
dns-ptr "192.0.2.17" "H17.Example.ORG"
dns-ptr "192.0.2.12" nxdomain
dns-a "H17.example.org" "192.0.2.17" "192.0.2.18"
dns-a "h16.example.org" servfail
`

func TestParseSample(t *testing.T) {
	c, err := Parse("sample", []byte(sampleCase))
	if err != nil {
		t.Fatal(err)
	}
	if c.Name != "pop3-sample" || c.Flag != FlagHeadOnly || !reflect.DeepEqual(c.Spec, []string{"7", "11.5"}) {
		t.Errorf("header: %+v", c)
	}
	if !reflect.DeepEqual(c.Notes, []string{"a note"}) {
		t.Errorf("notes %q", c.Notes)
	}
	if !reflect.DeepEqual(c.Config, []string{"listen ${LISTEN};", "protocol pop3;"}) {
		t.Errorf("config %q", c.Config)
	}
	if c.Protocol() != "pop3" {
		t.Errorf("protocol %q", c.Protocol())
	}
	wantClient := []Step{
		{Op: "expect", Data: []byte("+OK POP3 ready ${SALT}\r\n"), Line: 10},
		{Op: "send", Data: []byte("AUTH PLAIN\r\nAHUAcA==\r\n"), Line: 11},
		{Op: "silence", Seconds: 300 * time.Millisecond, HasArg: true, Line: 13},
		{Op: "closed", Seconds: 3 * time.Second, Line: 14},
		{Op: "closed", Seconds: 1500 * time.Millisecond, HasArg: true, Line: 15},
		{Op: "sleep", Seconds: 4 * time.Second, HasArg: true, Line: 16},
		{Op: "starttls", Line: 17},
		{Op: "shutdown", Line: 18},
	}
	if !reflect.DeepEqual(c.Client, wantClient) {
		t.Errorf("client:\n got %+v\nwant %+v", c.Client, wantClient)
	}
	if len(c.AuthExpect) != 1 || string(c.AuthExpect[0]) != "GET /auth HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n" {
		t.Errorf("auth-expect %q", c.AuthExpect)
	}
	wantReplies := []AuthReply{
		{Delay: time.Second, Gap: 200 * time.Millisecond,
			Chunks: [][]byte{[]byte("HTTP/1.0 200 OK\r\nAuth-Sta"), []byte("tus: OK\r\n\r\n")}},
		{Hold: true, HoldOn: 4 * time.Second},
		{Chunks: [][]byte{[]byte("x")}},
	}
	if !reflect.DeepEqual(c.AuthReplies, wantReplies) {
		t.Errorf("auth replies:\n got %+v\nwant %+v", c.AuthReplies, wantReplies)
	}
	if len(c.Backend) != 6 {
		t.Fatalf("backend %+v", c.Backend)
	}
	if got := c.Backend[0].Data; !bytes.Equal(got, []byte{'+', 'O', 'K', ' ', 0, 0xc3, 0xa9, ' ', '"', 'q', '"', ' ', '\\', ' ', '\t', '\r', '\n'}) {
		t.Errorf("escapes: %q", got)
	}
	ops := []string{}
	for _, s := range c.Backend {
		ops = append(ops, s.Op)
	}
	if strings.Join(ops, " ") != "send expect sleep closed closed close" {
		t.Errorf("backend ops %q", ops)
	}
	if c.Backend[3].Seconds != 3*time.Second || c.Backend[4].Seconds != 2*time.Second {
		t.Errorf("backend-closed limits %v %v", c.Backend[3].Seconds, c.Backend[4].Seconds)
	}
	wantDNS := map[DNSKey]DNSAnswer{
		{"17.2.0.192.in-addr.arpa", TypePTR}: {Values: []string{"H17.Example.ORG"}},
		{"12.2.0.192.in-addr.arpa", TypePTR}: {Rcode: 3},
		{"h17.example.org", TypeA}:           {Values: []string{"192.0.2.17", "192.0.2.18"}},
		{"h16.example.org", TypeA}:           {Rcode: 2},
	}
	if !reflect.DeepEqual(c.DNS, wantDNS) {
		t.Errorf("dns:\n got %+v\nwant %+v", c.DNS, wantDNS)
	}
}

func TestParseErrors(t *testing.T) {
	bad := map[string]string{
		"no name":               `flag none`,
		"unknown keyword":       "name x\nclient-frobnicate \"a\"",
		"unterminated":          "name x\nclient-send \"abc",
		"bad escape":            "name x\nclient-send \"\\q\"",
		"bad hex":               "name x\nclient-send \"\\x4g\"",
		"short hex":             "name x\nclient-send \"\\x4\"",
		"raw byte":              "name x\nclient-send \"caf\xc3\xa9\"",
		"continuation first":    "\"abc\"\nname x",
		"continuation 2 strs":   "name x\nclient-send \"a\"\n\"b\" \"c\"",
		"continuation no str":   "name x\nclient-silence 1\n\"b\"",
		"bad flag":              "name x\nflag maybe",
		"bad seconds":           "name x\nclient-silence soon",
		"silence needs seconds": "name x\nclient-silence",
		"bad reply option":      "name x\nauth-reply wait=1 \"a\"",
		"reply without chunk":   "name x\nauth-reply delay=1",
		"bad ptr ip":            "name x\ndns-ptr \"300.1.1.1\" \"a\"",
		"bad a ip":              "name x\ndns-a \"a\" \"x\"",
		"quote in word":         "name x\nclient-closed 1\"",
		"two names":             "name x\nname y",
	}
	for what, text := range bad {
		if _, err := Parse(what, []byte(text)); err == nil {
			t.Errorf("%s: no error", what)
		}
	}
}

func TestUnquote(t *testing.T) {
	good := map[string]string{
		`""`:                 "",
		`"a b"`:              "a b",
		`"\r\n\t\\\""`:       "\r\n\t\\\"",
		`"\x00\xff\xAb\x7f"`: "\x00\xff\xab\x7f",
		`"${SALT}"`:          "${SALT}",
	}
	for in, want := range good {
		got, err := Unquote(in)
		if err != nil || string(got) != want {
			t.Errorf("Unquote(%s) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{`"\u00e9"`, `"\101"`, `"\a"`, "\"\x01\"", `"a"b"`, `"\"`, `abc`, `"`} {
		if got, err := Unquote(in); err == nil {
			t.Errorf("Unquote(%s) = %q, want error", in, got)
		}
	}
}

func TestLoadDirChecksNames(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "a.case"), []byte("name b\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadDir(dir); err == nil {
		t.Error("name differing from the file name accepted")
	}
}
