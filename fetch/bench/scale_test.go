package bench

import (
	"os"
	"strconv"
	"strings"
	"testing"
)

// TestScale runs Scale for the counts in GRAB_SCALE (comma-separated) and
// is skipped without it:
//
//	GRAB_SCALE=5000,20000,50000 go test -run TestScale -v -timeout 3h ./fetch/bench
func TestScale(t *testing.T) {
	env := os.Getenv("GRAB_SCALE")
	if env == "" {
		t.Skip("GRAB_SCALE is not set")
	}
	var counts []int
	for _, f := range strings.Split(env, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			t.Fatalf("GRAB_SCALE: %v", err)
		}
		counts = append(counts, n)
	}
	if err := Scale(t.Context(), os.Stdout, counts); err != nil {
		t.Fatal(err)
	}
}
