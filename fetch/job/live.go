package job

import (
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/grab-ir/grab/fetch"
	"github.com/grab-ir/grab/fetch/digest"
	"github.com/grab-ir/grab/fetch/rate"
)

// sampleEvery is how often a running job feeds its ETA estimator.
const sampleEvery = 500 * time.Millisecond

// Report returns the job's status now, with its rate and ETAs. It is safe
// to call from any goroutine, at any time after Open began: it is what
// the status socket serves.
func (j *Job) Report() Report {
	j.mu.Lock()
	e, order, phase, tr := j.live, j.order, j.phase, j.tor
	var ver *Progress
	j.mu.Unlock()
	now := time.Now()
	var r Report
	if e == nil {
		r = Report{Version: Version, Classes: []Class{}, Workers: []Worker{}}
	} else {
		s := e.Status()
		j.mu.Lock()
		r = report(s, order, j.est, now)
		j.mu.Unlock()
		if s.Verifying > 0 {
			// recorded blocks re-hashed while other files are fetched
			ver = &Progress{Done: s.VerifyDone, Total: s.VerifyTotal}
		}
	}
	r.Running, r.PID, r.Began, r.Verifying = true, os.Getpid(), j.began, ver
	r.State = phase
	if phase == StateRunning {
		switch {
		case !r.NextTry.IsZero():
			r.State = StateWaiting
		case r.ListingsDone < r.Listings:
			r.State = StateCrawling
		}
	}
	if tr != nil {
		r.Tor = tr.status()
	}
	r.Errors = j.ev.list()
	return r
}

func (j *Job) setPhase(p string) {
	j.mu.Lock()
	j.phase = p
	j.mu.Unlock()
}

// endState is the state of a run that returned err.
func endState(err error, s fetch.Status) string {
	switch {
	case s.Done+s.Failed < s.Files || s.ListingsDone < s.Listings:
		return StateStopped
	case s.Failed > 0 || err != nil:
		return StateFailed
	}
	return StateDone
}

// sample feeds the estimator while the engine runs; the function it
// returns stops it and waits for it.
func (j *Job) sample() (stop func()) {
	est := &rate.Estimator{}
	j.mu.Lock()
	j.est = est
	j.mu.Unlock()
	done, quit := make(chan struct{}), make(chan struct{})
	lanes := j.s.Workers * j.s.Streams
	observe := func(now time.Time) {
		s := j.e.Status()
		var rtts []time.Duration
		for _, c := range s.Circuits {
			if c.FirstByte > 0 {
				rtts = append(rtts, c.FirstByte)
			}
		}
		var rtt time.Duration
		if len(rtts) > 0 {
			slices.Sort(rtts)
			rtt = rtts[len(rtts)/2]
		}
		j.mu.Lock()
		est.Observe(now, s.Fetched)
		est.SetRoundTrip(rtt, lanes)
		j.mu.Unlock()
	}
	go func() {
		defer close(done)
		t := time.NewTicker(sampleEvery)
		defer t.Stop()
		observe(time.Now())
		for {
			select {
			case <-quit:
				return
			case now := <-t.C:
				observe(now)
			}
		}
	}()
	return func() { close(quit); <-done }
}

// liveFiles is the file list the status socket serves.
func (j *Job) liveFiles() []fetch.File {
	j.mu.Lock()
	e := j.live
	j.mu.Unlock()
	if e == nil {
		return []fetch.File{}
	}
	return e.Files()
}

// fileFinished is the engine's hook for a file placed in the tree: the
// server's modification time goes onto the file (as curl -R and wget -N
// do) and the file into the manifest, then Options.Finished hears of it.
func (j *Job) fileFinished(f fetch.File) {
	e := entryOf(f, j.sums.Lookup(f.Path), time.Now())
	if !e.LastModified.IsZero() {
		err := j.openTree()
		if err == nil {
			// Beneath the folder: a link put in the file's place never
			// takes the change outside it.
			err = j.tree.Chtimes(filepath.FromSlash(f.Path), time.Time{}, e.LastModified)
		}
		if err != nil {
			j.log.Info("setting the server's modification time", "path", f.Path, "err", err)
		}
	}
	if j.man != nil {
		j.man.add(e)
	}
	if j.finished != nil {
		j.finished(f)
	}
}

// openManifest opens the manifest for appending, and writes again the
// entries of finished files a crash kept from it.
func (j *Job) openManifest() error {
	have, err := ReadManifest(j.s.Output)
	if err != nil {
		return err
	}
	if j.man, err = openManifest(j.s.Output); err != nil {
		return err
	}
	known := map[string]bool{}
	for _, e := range have {
		known[e.Path] = true
	}
	now := time.Now()
	for _, f := range j.e.Files() {
		if f.Kind == fetch.KindFile && f.State == fetch.Done && !known[f.Path] {
			e := entryOf(f, j.sums.Lookup(f.Path), now)
			e.Recovered, e.Finished = true, time.Time{}
			j.man.add(e)
		}
	}
	return nil
}

// hashes are the digests computed besides SHA-256 when a file finishes.
func (s *Settings) hashes() []string {
	var out []string
	if s.MD5 {
		out = append(out, digest.MD5)
	}
	if s.SHA1 {
		out = append(out, digest.SHA1)
	}
	return out
}

// openTree opens the output folder once for setting modification times
// (one open a file was 500,000 opens). Only the commit calls it.
func (j *Job) openTree() error {
	if j.tree != nil {
		return nil
	}
	root, err := os.OpenRoot(j.s.Output)
	if err != nil {
		return err
	}
	j.tree = root
	return nil
}
