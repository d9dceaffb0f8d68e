package job

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/grab-ir/grab/fetch"
	"github.com/grab-ir/grab/store"
)

// Plan returns the files of the job in dir as it stands: the pending ones
// first, in the order they will be fetched, then the others. While a grab
// runs the job, the running job is asked on its status socket; otherwise
// the job's state is read (which takes its lock).
func Plan(ctx context.Context, dir string) ([]fetch.File, error) {
	var files []fetch.File
	err := ask(ctx, dir, askFiles, &files)
	if err == nil {
		return files, nil
	}
	if !errors.Is(err, ErrNotRunning) {
		return nil, err
	}
	files, _, _, err = offline(dir, "grab ls -o DIR")
	return files, err
}

// Inspect returns the status of the job in dir: from the grab running it,
// or, when none runs, from its state.
func Inspect(ctx context.Context, dir string) (Report, error) {
	var r Report
	err := ask(ctx, dir, askStatus, &r)
	if err == nil {
		return r, nil
	}
	if !errors.Is(err, ErrNotRunning) {
		return r, err
	}
	files, recorded, p, err := offline(dir, "grab status -o DIR")
	if err != nil {
		return r, err
	}
	r = report(statusOf(files, recorded), p.order, nil, time.Now())
	r.State = StateStopped
	// A job with no item at all has not recorded its start URLs yet
	// (killed, or the disk full, before its first commit): not done.
	if len(files) > 0 && r.Settled() {
		r.State = StateDone
		if r.FilesFailed > 0 {
			r.State = StateFailed
		}
	}
	return r, nil
}

// statusOf counts files as the engine's Status would, without a run;
// recorded holds the bytes of the recorded blocks of pending files.
func statusOf(files []fetch.File, recorded map[uint64]int64) fetch.Status {
	s := fetch.Status{Classes: map[string]fetch.ClassStatus{}}
	for _, f := range files {
		if f.Kind == fetch.KindListing {
			s.Listings++
			if f.State != fetch.Pending {
				s.ListingsDone++
			}
			continue
		}
		s.Files++
		c := s.Classes[f.Class]
		c.Files++
		switch {
		case f.State == fetch.Done:
			s.Done++
			c.Done++
			s.Size += f.Size
			s.DoneBytes += f.Size
			c.Size += f.Size
			c.DoneBytes += f.Size
		case f.State == fetch.Failed:
			s.Failed++
			c.Failed++
		case f.Size < 0:
			s.Unknown++
			c.Unknown++
			if f.Estimate > 0 {
				s.Estimated += f.Estimate
				c.Estimated += f.Estimate
			}
		default:
			// Recorded blocks count as done; the next run re-hashes
			// them before it trusts them.
			done := min(recorded[f.ID], f.Size)
			s.Size += f.Size
			c.Size += f.Size
			s.DoneBytes += done
			c.DoneBytes += done
		}
		s.Classes[f.Class] = c
	}
	return s
}

// noJob is the error of a command given a folder that holds no job.
func noJob(dir, usage string) error {
	return &UsageError{Msg: fmt.Sprintf("%s %v", dir, ErrNoJob), Hint: usage + ", where DIR is a job's output folder"}
}

// Manifest is ReadManifest for `grab manifest`: a folder that holds no
// job is a *UsageError.
func Manifest(dir string) ([]Entry, error) {
	if !store.Exists(dir) {
		return nil, noJob(dir, "grab manifest -o DIR")
	}
	return ReadManifest(dir)
}

// blockSize is the engine's block size (fetch.Config's default, which
// grab never changes): what a recorded block holds.
const blockSize = 256 << 10

// offline reads the job in dir from its state, taking its lock: it fails
// with *store.InUseError while a grab holds the job. recorded holds the
// bytes in recorded blocks and partial blocks of each pending file, by ID.
func offline(dir, usage string) (files []fetch.File, recorded map[uint64]int64, p *plan, err error) {
	if !store.Exists(dir) {
		return nil, nil, nil, noJob(dir, usage)
	}
	st, err := store.OpenReader(dir)
	if err != nil {
		return nil, nil, nil, err
	}
	defer st.Close()
	rec, err := st.Job()
	if err != nil {
		return nil, nil, nil, err
	}
	set, err := (&Settings{}).Merge(rec.Settings, nil)
	if err != nil {
		return nil, nil, nil, err
	}
	if p, err = set.build(); err != nil {
		return nil, nil, nil, err
	}
	saved, err := st.Load()
	if err != nil {
		return nil, nil, nil, err
	}
	files = make([]fetch.File, len(saved))
	recorded = map[uint64]int64{}
	for i, sv := range saved {
		files[i] = sv.File
		if sv.File.State == fetch.Pending {
			// What the state says, bounded as the engine bounds it: a
			// partial block holds at most a block, a file its size.
			n := int64(len(sv.Blocks)) * blockSize
			for b, pt := range sv.Partials {
				n += min(max(pt.Reached-b*blockSize, 0), blockSize)
			}
			if sv.File.Size >= 0 {
				n = min(n, sv.File.Size)
			}
			recorded[sv.File.ID] = n
		}
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
	return files, recorded, p, nil
}
