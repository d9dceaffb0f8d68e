package fetch

import (
	"maps"
	"slices"
	"time"
)

// Status is a snapshot of a job for display. Files and bytes count files,
// not listings.
type Status struct {
	Listings, ListingsDone int
	Estimated              int64 // announced sizes of pending files whose exact size is unknown
	Classes                map[string]ClassStatus
	Files, Done, Failed    int   // files to fetch: skipped ones are not among them
	Skipped, SkippedDirs   int   // files and folders left out by a filter
	Unknown                int   // pending files whose size is not known yet
	Size                   int64 // total of known sizes, failed files left out
	DoneBytes              int64 // in verified blocks and finished files
	Requests               int   // requests in flight
	Fetched                int64 // bytes received in this run
	Wasted                 int64 // of which thrown away: cut mid-block, fetched twice, changed files
	Resumed                int64 // bytes found done on disk when the job started
	Rehashed               int64 // blocks that failed re-verification at start
	Renewals               int   // circuits replaced (slow, stalled, failing)
	RenewalsDenied         int   // replacements the renewal budget refused
	Stalls                 int   // requests cancelled for moving nothing
	Twins                  int   // ranges fetched a second time at the end
	Yields                 int   // requests of a lower class stopped for waiting higher-class work

	// Verifying is how many files' recorded blocks are still to be read
	// back and checked at the start of a resumed job (they are fetched
	// once checked, others meanwhile); VerifyDone of VerifyTotal bytes
	// have been.
	Verifying               int
	VerifyDone, VerifyTotal int64

	// WaitingUntil is set while the source cannot be reached and no request
	// is under way: the time of the next try, and why.
	WaitingUntil time.Time
	WaitingWhy   string

	// Circuits are the workers' circuits, by ID.
	Circuits []CircuitStatus
}

// CircuitStatus is one circuit: its measured rate (0 while unknown), its
// smoothed time from a request to its first byte (0 until seen), its
// requests in flight and the file of its oldest one, since when.
type CircuitStatus struct {
	ID        int
	Rate      float64
	FirstByte time.Duration
	Requests  int
	Path      string
	Since     time.Time
}

// Status returns the job's state now.
func (e *Engine) Status() Status {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := Status{Fetched: e.stats.fetched, Wasted: e.stats.wasted,
		Resumed: e.stats.resumed, Rehashed: e.stats.rehashed, Renewals: e.stats.renewals,
		RenewalsDenied: e.stats.denied,
		Stalls:         e.stats.stalls, Twins: e.stats.twins, Yields: e.stats.yields,
		Verifying: e.resume.left, VerifyDone: e.resume.done.Load(), VerifyTotal: e.resume.total}
	now := e.cfg.Now()
	for _, h := range e.hosts {
		if h.notBefore.After(now) && (s.WaitingUntil.IsZero() || h.notBefore.Before(s.WaitingUntil)) {
			s.WaitingUntil, s.WaitingWhy = h.notBefore, h.lastErr
		}
	}
	s.Classes = map[string]ClassStatus{}
	s.Circuits = make([]CircuitStatus, len(e.circs))
	for i, c := range e.circs {
		s.Circuits[i].ID = c.id
		s.Circuits[i].Rate, _ = e.scorer.Rate(c.id)
		s.Circuits[i].FirstByte = c.ttfb
	}
	for _, f := range e.files {
		s.Requests += len(f.tasks)
		for t := range f.tasks {
			if t.lane == nil || t.lane.c.id < 0 || t.lane.c.id >= len(s.Circuits) {
				continue
			}
			cs := &s.Circuits[t.lane.c.id]
			cs.Requests++
			if cs.Since.IsZero() || t.began.Before(cs.Since) {
				cs.Path, cs.Since = f.Path, t.began
			}
		}
		if f.State == Skipped {
			if f.Kind == KindListing {
				s.SkippedDirs++
			} else {
				s.Skipped++
			}
			continue
		}
		if f.Kind == KindListing {
			s.Listings++
			if f.State != Pending {
				s.ListingsDone++
			}
			continue
		}
		s.Files++
		c := s.Classes[f.Class]
		c.Files++
		switch f.State {
		case Done:
			s.Done++
			c.Done++
			s.Size += f.Size
			s.DoneBytes += f.Size
			c.Size += f.Size
			c.DoneBytes += f.Size
		case Failed:
			s.Failed++
			c.Failed++
		default:
			if f.Size < 0 {
				s.Unknown++
				c.Unknown++
				if f.Estimate > 0 {
					s.Estimated += f.Estimate
					c.Estimated += f.Estimate
				}
				break
			}
			s.Size += f.Size
			s.DoneBytes += f.doneBytes
			c.Size += f.Size
			c.DoneBytes += f.doneBytes
		}
		s.Classes[f.Class] = c
	}
	for class, u := range e.unplaced {
		// Done, not yet in the tree: not done to whoever reads this.
		c := s.Classes[class]
		c.Done -= u.Done
		c.DoneBytes -= u.DoneBytes
		s.Classes[class] = c
		s.Done -= u.Done
		s.DoneBytes -= u.DoneBytes
	}
	if s.Requests > 0 { // requests run: the source is not being waited for
		s.WaitingUntil, s.WaitingWhy = time.Time{}, ""
	}
	return s
}

// ClassStatus is the part of a Status for one class of files.
type ClassStatus struct {
	Files, Done, Failed, Unknown int
	Size, DoneBytes, Estimated   int64
}

// Files returns a copy of every record, listings included: first the
// pending ones in fetch order, then the others in the order added.
func (e *Engine) Files() []File {
	e.mu.Lock()
	defer e.mu.Unlock()
	var order []*fileState
	for _, f := range e.files {
		if f.State == Pending {
			order = append(order, f)
		}
	}
	slices.SortFunc(order, e.compare)
	for _, f := range e.files {
		if f.State != Pending {
			order = append(order, f)
		}
	}
	out := make([]File, len(order))
	for i, f := range order {
		out[i] = f.File
		out[i].Expect = maps.Clone(f.Expect)
		out[i].Run = f.Run.clone()
		if f.State == Pending && f.lastErr != "" {
			out[i].Err = f.lastErr
		}
	}
	return out
}
