package outcome

import (
	"errors"
	"testing"
)

// TestText pins the summary line's text of every outcome, with and
// without an error: operators grep the log for these, and the fault tests
// and the README quote them.
func TestText(t *testing.T) {
	err := errors.New("read tcp 10.0.0.5:143: connection reset by peer")
	cases := []struct {
		o             Outcome
		text, withErr string
	}{
		{None, "none", "none"},
		{ClientClosed, "client closed", "client closed"},
		{BackendClosed, "backend closed", "backend closed"},
		{IdleTimeout, "proxy_timeout", "proxy_timeout"},
		{ClosedBeforeLogin, "closed before login", "closed before login"},
		{EndedBeforeLogin, "ended before login", "ended before login: " + err.Error()},
		{Timeout, "client timed out", "client timed out"},
		{BackendFailed, "backend login failed", "backend login failed"},
		{BadProxyHeader, "bad PROXY header", "bad PROXY header"},
		{TLSFailed, "TLS handshake failed", "TLS handshake failed"},
		{ClientCertRefused, "client certificate refused", "client certificate refused"},
		{ClientError, "client error", "client error: " + err.Error()},
		{ClientWriteFailed, "client write failed", "client write failed"},
		{BackendError, "backend error", "backend error: " + err.Error()},
		{BackendWriteFailed, "backend write failed", "backend write failed"},
		{Shutdown, "closed by server", "closed by server"},
		{Panic, "panic", "panic"},
		{Limited, "too many connections", "too many connections"},
		{Throttled, "login throttled", "login throttled"},
	}
	if len(cases) != len(All()) {
		t.Fatalf("%d cases for %d outcomes: pin the new outcome's text here", len(cases), len(All()))
	}
	for i, c := range cases {
		if c.o != All()[i] {
			t.Errorf("case %d is %q, want outcome %d", i, c.o.String(), All()[i])
		}
		if got := c.o.String(); got != c.text {
			t.Errorf("Outcome %d: String() = %q, want %q", c.o, got, c.text)
		}
		if got := c.o.With(nil).String(); got != c.text {
			t.Errorf("%q.With(nil): %q, want %q", c.text, got, c.text)
		}
		if got := c.o.With(err).String(); got != c.withErr {
			t.Errorf("%q.With(err): %q, want %q", c.text, got, c.withErr)
		}
	}
	if got := Outcome(count).String(); got != "unknown" {
		t.Errorf("an unknown value's text: %q", got)
	}
}

// TestErrorTextDoesNotChangeLabel: the label comes from the Outcome
// alone. An error whose text reads like another outcome's (as the
// Auth-Wait hang-up's "client closed the connection …" does) shows in the
// summary text and changes nothing else.
func TestErrorTextDoesNotChangeLabel(t *testing.T) {
	texts := []string{"", "client closed", "backend error: x", "closed by server", "proxy_timeout", "panic",
		"client closed the connection during the Auth-Wait delay", "\xff\n\"junk"}
	for _, o := range All() {
		for _, text := range texts {
			e := o.With(errors.New(text))
			if e.Outcome != o || e.Outcome.Label() != o.Label() {
				t.Errorf("%q with error %q: outcome %q, label %q", o.String(), text, e.Outcome.String(), e.Outcome.Label())
			}
			if e.Ended() != (o != None) {
				t.Errorf("%q: Ended() = %v", o.String(), e.Ended())
			}
		}
	}
	if (End{}).Ended() {
		t.Error("the zero End has ended")
	}
}
