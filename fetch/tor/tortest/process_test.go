package tortest

import (
	"strings"
	"testing"
)

func TestPrefixWriter(t *testing.T) {
	var out strings.Builder
	w := &prefixWriter{prefix: "auth0: ", w: &out}
	for _, s := range []string{"one\ntw", "o\n", "", "three\nfour\nfi", "ve"} {
		if n, err := w.Write([]byte(s)); n != len(s) || err != nil {
			t.Fatalf("Write(%q) = %d, %v", s, n, err)
		}
	}
	if want := "auth0: one\nauth0: two\nauth0: three\nauth0: four\n"; out.String() != want {
		t.Errorf("got %q, want %q", out.String(), want)
	}
}
