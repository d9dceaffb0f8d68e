package job

import (
	"errors"
	"testing"

	"github.com/grab-ir/grab/fetch"
)

// A clean audit is no error; otherwise ErrVerify names each kind of
// problem with its count, in a fixed order.
func TestAuditErr(t *testing.T) {
	if err := (&Audit{Checked: 3, OK: 3}).Err("case"); err != nil {
		t.Fatalf("clean: %v", err)
	}
	a := &Audit{Mismatched: []string{"a: size"}, Extra: []string{"x", "y"}}
	err := a.Err("case")
	want := "verify: the tree in case does not match the job (1 mismatched, 2 extra)"
	if !errors.Is(err, ErrVerify) || !errors.Is(err, fetch.ErrFailed) || err.Error() != want {
		t.Fatalf("%v, want %s", err, want)
	}
}
