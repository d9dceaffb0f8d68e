package job

import (
	"fmt"
	"slices"

	"github.com/grab-ir/grab/fetch"
	"github.com/grab-ir/grab/store"
)

// Plan returns the files of the job in dir as it stands: the pending ones
// first, in the order they will be fetched, then the others. It takes the
// job's lock, so it fails with *store.InUseError while the job runs.
func Plan(dir string) ([]fetch.File, error) {
	if !store.Exists(dir) {
		return nil, &UsageError{Msg: fmt.Sprintf("%s %v", dir, ErrNoJob), Hint: "grab ls -o DIR, where DIR is a job's output folder"}
	}
	st, err := store.Open(dir)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	rec, err := st.Job()
	if err != nil {
		return nil, err
	}
	s, err := (&Settings{}).Merge(rec.Settings, nil)
	if err != nil {
		return nil, err
	}
	p, err := s.build()
	if err != nil {
		return nil, err
	}
	saved, err := st.Load()
	if err != nil {
		return nil, err
	}
	files := make([]fetch.File, len(saved))
	for i, sv := range saved {
		files[i] = sv.File
	}
	slices.SortStableFunc(files, func(a, b fetch.File) int {
		if (a.State == fetch.Pending) != (b.State == fetch.Pending) {
			if a.State == fetch.Pending {
				return -1
			}
			return 1
		}
		return fetch.Compare(p.less, &a, &b)
	})
	return files, nil
}
