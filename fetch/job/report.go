package job

import (
	"time"

	"github.com/grab-ir/grab/fetch/safetext"

	"github.com/grab-ir/grab/fetch"
	"github.com/grab-ir/grab/fetch/rate"
)

// Version is grab's version, written into status reports and manifests.
const Version = "0.1.0-dev"

// States of a job, as Report.State gives them.
const (
	StateStarting  = "starting"
	StateVerifying = "verifying partial files"
	StateTor       = "building circuits"
	StateCrawling  = "crawling"
	StateRunning   = "running"
	StateWaiting   = "waiting for source or proxy"
	StateStopped   = "stopped"
	StateDone      = "done"
	StateFailed    = "failed"
)

// Report is a job's status as grab status, the progress display and the
// status socket give it: the schema of `grab status --json`
// (docs/status.md). Counts are of files, not listings; bytes_total holds
// the known sizes plus bytes_estimated, the sizes listings announced for
// files whose exact size is not known yet.
type Report struct {
	Version        string    `json:"version"`
	State          string    `json:"state"`
	Running        bool      `json:"running"` // a grab holds the job and answers on its socket
	PID            int       `json:"pid,omitempty"`
	Began          time.Time `json:"began,omitzero"`
	NextTry        time.Time `json:"next_try,omitzero"` // while waiting for the source
	WaitingWhy     string    `json:"waiting_why,omitempty"`
	Verifying      *Progress `json:"verifying,omitempty"` // partial files re-hashed at start
	Listings       int       `json:"listings"`
	ListingsDone   int       `json:"listings_done"`
	FilesDone      int       `json:"files_done"`
	FilesFailed    int       `json:"files_failed"`
	FilesTotal     int       `json:"files_total"`
	FilesUnknown   int       `json:"files_unknown_size"`
	BytesDone      int64     `json:"bytes_done"`
	BytesTotal     int64     `json:"bytes_total"`
	BytesEstimated int64     `json:"bytes_estimated"`
	BytesFetched   int64     `json:"bytes_fetched"` // received in this run
	BytesWasted    int64     `json:"bytes_wasted"`  // of which fetched twice or thrown away
	Requests       int       `json:"requests"`
	RateBPS        float64   `json:"rate_bps"`
	ETASeconds     *float64  `json:"eta_seconds"` // null while unknown
	ETAApprox      bool      `json:"eta_approx"`  // relies on estimated sizes or an unfinished crawl
	Classes        []Class   `json:"classes"`
	Workers        []Worker  `json:"workers"`
	Tor            string    `json:"tor,omitempty"`
	Errors         []Event   `json:"errors"`
}

// Progress is done of total bytes.
type Progress struct {
	Done  int64 `json:"done"`
	Total int64 `json:"total"`
}

// Class is one class of a Report, in priority order. Its ETA is when it
// will be complete: classes are fetched in priority order, so it counts
// the work of every class before it.
type Class struct {
	Name           string   `json:"name"` // "" for files named on the command line
	FilesDone      int      `json:"files_done"`
	FilesFailed    int      `json:"files_failed"`
	FilesTotal     int      `json:"files_total"`
	BytesDone      int64    `json:"bytes_done"`
	BytesTotal     int64    `json:"bytes_total"`
	BytesEstimated int64    `json:"bytes_estimated"`
	ETASeconds     *float64 `json:"eta_seconds"`
	ETAApprox      bool     `json:"eta_approx"`
}

// Settled reports whether every file of the class is done or failed.
func (c Class) Settled() bool { return c.FilesDone+c.FilesFailed == c.FilesTotal }

// Worker is one circuit.
type Worker struct {
	ID         int     `json:"id"`
	RateBPS    float64 `json:"rate_bps"` // 0 while unknown
	Requests   int     `json:"requests"`
	Path       string  `json:"path,omitempty"` // the file of its oldest request
	AgeSeconds float64 `json:"age_seconds,omitempty"`
}

// Event is a warning or error the job logged.
type Event struct {
	Time    time.Time `json:"time"`
	Message string    `json:"message"`
}

// Settled reports whether the job has nothing left to fetch.
func (r *Report) Settled() bool {
	return r.FilesDone+r.FilesFailed == r.FilesTotal && r.ListingsDone == r.Listings
}

// report builds a Report from an engine status, the class order and an
// estimator (nil: no rates).
func report(s fetch.Status, order []string, est *rate.Estimator, now time.Time) Report {
	r := Report{Version: Version, Listings: s.Listings, ListingsDone: s.ListingsDone,
		FilesDone: s.Done, FilesFailed: s.Failed, FilesTotal: s.Files, FilesUnknown: s.Unknown,
		BytesDone: s.DoneBytes, BytesTotal: s.Size + s.Estimated, BytesEstimated: s.Estimated,
		BytesFetched: s.Fetched, BytesWasted: s.Wasted, Requests: s.Requests,
		NextTry: s.WaitingUntil, WaitingWhy: Clean(s.WaitingWhy), Classes: []Class{}, Workers: []Worker{}, Errors: []Event{}}
	crawling := s.ListingsDone < s.Listings
	var work []rate.Work
	for _, name := range order {
		c, ok := s.Classes[name]
		if !ok {
			continue
		}
		r.Classes = append(r.Classes, Class{Name: name, FilesDone: c.Done, FilesFailed: c.Failed, FilesTotal: c.Files,
			BytesDone: c.DoneBytes, BytesTotal: c.Size + c.Estimated, BytesEstimated: c.Estimated,
			ETAApprox: c.Unknown > 0 || crawling})
		work = append(work, rate.Work{Bytes: c.Size - c.DoneBytes + c.Estimated, Files: c.Files - c.Done - c.Failed})
	}
	for _, c := range s.Circuits {
		w := Worker{ID: c.ID, RateBPS: c.Rate, Requests: c.Requests, Path: Clean(c.Path)}
		if !c.Since.IsZero() {
			w.AgeSeconds = now.Sub(c.Since).Round(time.Second).Seconds()
		}
		r.Workers = append(r.Workers, w)
	}
	r.ETAApprox = s.Unknown > 0 || crawling
	if est == nil {
		return r
	}
	r.RateBPS, _ = est.Rate()
	etas, ok := est.ETAs(work)
	for i := range r.Classes {
		if ok[i] {
			r.Classes[i].ETASeconds = seconds(etas[i])
		}
	}
	if n := len(etas); n > 0 && ok[n-1] {
		r.ETASeconds = seconds(etas[n-1])
	} else if n == 0 && !crawling {
		r.ETASeconds = seconds(0)
	}
	return r
}

func seconds(d time.Duration) *float64 {
	s := d.Round(time.Second).Seconds()
	return &s
}

// Clean replaces control characters in text that came from a server (or
// a path made from it) so that it cannot steer a terminal.
func Clean(s string) string { return safetext.String(s) }
