package fetch

import "maps"

// Status is a snapshot of a job for display.
type Status struct {
	Files, Done, Failed int
	Unknown             int   // pending files whose size is not known yet
	Size                int64 // total of known sizes, failed files left out
	DoneBytes           int64 // in verified blocks and finished files
	Requests            int   // requests in flight
	Fetched             int64 // bytes received in this run
	Wasted              int64 // of which thrown away: cut mid-block, fetched twice, changed files
	Resumed             int64 // bytes found done on disk when the job started
	Rehashed            int64 // blocks that failed re-verification at start
}

// Status returns the job's state now.
func (e *Engine) Status() Status {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := Status{Files: len(e.files), Fetched: e.stats.fetched, Wasted: e.stats.wasted,
		Resumed: e.stats.resumed, Rehashed: e.stats.rehashed}
	for _, f := range e.files {
		s.Requests += len(f.tasks)
		switch f.State {
		case Done:
			s.Done++
			s.Size += f.Size
			s.DoneBytes += f.Size
		case Failed:
			s.Failed++
		default:
			if f.Size < 0 {
				s.Unknown++
				continue
			}
			s.Size += f.Size
			s.DoneBytes += f.doneBytes
		}
	}
	return s
}

// Files returns a copy of every file record, in fetch order.
func (e *Engine) Files() []File {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]File, len(e.files))
	for i, f := range e.files {
		out[i] = f.File
		out[i].Expect = maps.Clone(f.Expect)
		if f.State == Pending && f.lastErr != "" {
			out[i].Err = f.lastErr
		}
	}
	return out
}
