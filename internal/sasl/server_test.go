package sasl

import (
	"errors"
	"reflect"
	"testing"
)

// TestExchange drives every mechanism through its forms: initial
// response, challenges, refusals, and the mechanisms a server has not
// enabled.
func TestExchange(t *testing.T) {
	all := Enabled([]string{"plain", "login", "cram-md5", "external"})
	salt := func() string { return "<1.2@mx>" }
	type step struct {
		in   string // response ("" with ir=false for Start without one)
		want Step
	}
	cases := []struct {
		name  string
		m     Mechanisms
		mech  string
		ir    string
		hasIR bool
		first Step
		steps []step
	}{
		{name: "plain-ir", m: all, mech: "plain", ir: "AHUAcA==", hasIR: true, first: done(MethodPlain, "u", "p", "")},
		{name: "plain-challenge", m: all, mech: "PLAIN", first: Step{},
			steps: []step{{"AHUAcA==", done(MethodPlain, "u", "p", "")}}},
		{name: "plain-no-password", m: all, mech: "plain", ir: "AHU=", hasIR: true, first: Step{Err: ErrPlainPassword}},
		{name: "plain-bad-base64", m: all, mech: "plain", ir: "*", hasIR: true, first: Step{Err: &DecodeError{Mech: Plain}}},
		{name: "login", m: all, mech: "Login", first: Step{Challenge: UsernameChallenge},
			steps: []step{{"dQ==", Step{Challenge: PasswordChallenge}}, {"cA==", done(MethodPlain, "u", "p", "")}}},
		{name: "login-ir", m: all, mech: "LOGIN", ir: "dQ==", hasIR: true, first: Step{Challenge: PasswordChallenge},
			steps: []step{{"=", done(MethodPlain, "u", "", "")}}},
		{name: "login-bad-user", m: all, mech: "LOGIN", first: Step{Challenge: UsernameChallenge},
			steps: []step{{"!", Step{Err: &DecodeError{Mech: Login, Challenged: true, User: true}}}}},
		{name: "login-bad-password", m: all, mech: "LOGIN", ir: "dQ==", hasIR: true, first: Step{Challenge: PasswordChallenge},
			steps: []step{{"!", Step{Err: &DecodeError{Mech: Login, Challenged: true}}}}},
		{name: "login-always-accepted", m: Enabled(nil), mech: "LOGIN", first: Step{Challenge: UsernameChallenge}},
		{name: "cram", m: all, mech: "cram-md5", first: Step{Challenge: "PDEuMkBteD4="},
			steps: []step{{"dSAwMTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMQ==", done(MethodCRAMMD5, "u", "01234567890123456789012345678901", "<1.2@mx>")}}},
		{name: "cram-short-digest", m: all, mech: "cram-md5", first: Step{Challenge: "PDEuMkBteD4="},
			steps: []step{{"dSAwMTI=", Step{Err: ErrCRAMHash}}}},
		{name: "cram-with-ir", m: all, mech: "CRAM-MD5", ir: "AA==", hasIR: true, first: Step{Err: ErrMechanism}},
		{name: "cram-not-enabled", m: Enabled([]string{"plain"}), mech: "CRAM-MD5", first: Step{Err: ErrMechanism}},
		{name: "external", m: all, mech: "EXTERNAL", first: Step{Challenge: UsernameChallenge},
			steps: []step{{"ZXh0", done(MethodExternal, "ext", "", "")}}},
		{name: "external-not-enabled", m: Enabled([]string{"plain"}), mech: "EXTERNAL", ir: "ZXh0", hasIR: true, first: Step{Err: ErrMechanism}},
		{name: "unknown", m: all, mech: "GSSAPI", first: Step{Err: ErrMechanism}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e, st := Start(c.m, []byte(c.mech), []byte(c.ir), c.hasIR, salt)
			check(t, "start", st, c.first)
			for _, s := range c.steps {
				check(t, s.in, e.Respond([]byte(s.in)), s.want)
			}
		})
	}
}

func check(t *testing.T, at string, got, want Step) {
	t.Helper()
	if want.Err != nil {
		var gd, wd *DecodeError
		if errors.As(want.Err, &wd) {
			if !errors.As(got.Err, &gd) || *gd != *wd {
				t.Fatalf("%s: got %+v, want %+v", at, got, want)
			}
			return
		}
		if got.Err != want.Err {
			t.Fatalf("%s: got %+v, want error %v", at, got, want.Err)
		}
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s: got %+v, want %+v", at, got, want)
	}
}

// TestNames lists the enabled mechanisms in listing order, whatever the
// order of the *_auth list, ignoring keywords that are not mechanisms.
func TestNames(t *testing.T) {
	got := Enabled([]string{"external", "none", "cram-md5", "plain", "apop"}).Names()
	if want := []string{Plain, CRAMMD5, External}; !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	if got := Enabled(nil).Names(); len(got) != 0 {
		t.Fatalf("nothing enabled: %v", got)
	}
}
