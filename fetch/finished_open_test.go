package fetch_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/grab-ir/grab/fetch/fetchtest"
)

// Files that finish while the commit is behind (here: the whole run)
// land all the same, byte for byte: past the first 1,024 they close
// their partial files at once, and the final commit syncs them closed.
func TestManyFinishedBeforeACommit(t *testing.T) {
	const n = 1300
	files := map[string]*fetchtest.File{}
	var paths []string
	for i := range n {
		p := fmt.Sprintf("/f%04d", i)
		files[p] = &fetchtest.File{Data: fetchtest.Data(p, 100+i)}
		paths = append(paths, p)
	}
	j := newJob(t, files)
	j.cfg.CommitEvery = time.Hour // only the final commit
	j.cfg.Workers, j.cfg.Streams = 4, 4
	e, err := j.run(t.Context(), nil, paths...)
	if err != nil {
		t.Fatal(err)
	}
	if s := e.Status(); s.Done != n {
		t.Fatalf("%d of %d done", s.Done, n)
	}
	for _, p := range paths {
		b, err := os.ReadFile(filepath.Join(j.dir, filepath.FromSlash(p[1:])))
		if err != nil || !bytes.Equal(b, files[p].Data) {
			t.Fatalf("%s: %v", p, err)
		}
	}
}
