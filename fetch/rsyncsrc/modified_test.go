package rsyncsrc

import (
	"testing"
	"time"

	"github.com/grab-ir/grab/fetch/rsync"
)

// A daemon's mtime goes onto the copy and into the manifest's JSON, which
// holds years 1 to 9999 only: any other is dropped, never an error later.
func TestModifiedBounded(t *testing.T) {
	for _, c := range []struct {
		sec  int64
		keep bool
	}{
		{0, true},
		{-1, true},
		{1 << 31, true},
		{253402300799, true},  // 9999-12-31 23:59:59
		{253402300800, false}, // year 10000
		{-62135596801, false}, // year 0
		{1<<63 - 1, false},
		{-1 << 63, false},
	} {
		f := rsync.File{ModTime: time.Unix(c.sec, 0).UTC()}
		if got := modified(f); got.IsZero() == c.keep {
			t.Errorf("mtime %d: got %v, keep %v", c.sec, got, c.keep)
		}
	}
}
