package main

import (
	"time"

	"github.com/grab-ir/grab/fetch/job"
)

type renderCase struct {
	name string
	r    job.Report
}

// renderCases are reports in every state a run passes through.
func renderCases(next time.Time) []renderCase {
	f := func(v float64) *float64 { return &v }
	base := sampleReport
	var cs []renderCase
	add := func(name string, edit func(r *job.Report)) {
		r := base()
		edit(&r)
		cs = append(cs, renderCase{name, r})
	}
	add("starting", func(r *job.Report) { *r = job.Report{State: job.StateStarting, Running: true, PID: 7, Began: r.Began} })
	add("tor", func(r *job.Report) {
		*r = job.Report{State: job.StateTor, Running: true, PID: 7, Began: r.Began, Tor: "tor: 2 of 3 circuits built"}
	})
	add("verifying", func(r *job.Report) {
		r.State, r.Verifying = job.StateVerifying, &job.Progress{Done: 1 << 30, Total: 4 << 30}
	})
	add("verifying, nil", func(r *job.Report) { r.State = job.StateVerifying })
	add("waiting", func(r *job.Report) {
		r.State, r.NextTry, r.WaitingWhy = job.StateWaiting, next, "connection refused"
	})
	add("waiting, no why", func(r *job.Report) { r.State, r.NextTry = job.StateWaiting, next })
	add("crawling", func(r *job.Report) {
		r.State, r.ListingsDone, r.FilesUnknown, r.Requests = job.StateCrawling, 3, 12, 5
		r.Tor = "tor: 16 circuits"
		r.Errors = []job.Event{{Time: next, Message: "listing x/: 503 \x1b[31m"}}
	})
	add("no rate", func(r *job.Report) { r.RateBPS, r.ETASeconds = 0, nil; r.BytesTotal = 0; r.BytesEstimated = 0 })
	add("no rate, eta", func(r *job.Report) { r.RateBPS, r.ETASeconds, r.ETAApprox = 0, f(0), false })
	add("done", func(r *job.Report) {
		r.State, r.FilesDone, r.FilesFailed, r.Running = job.StateDone, 145, 1, false
		for i := range r.Classes {
			r.Classes[i].FilesDone = r.Classes[i].FilesTotal - r.Classes[i].FilesFailed
		}
		r.Classes = append(r.Classes, job.Class{Name: "", FilesDone: 2, FilesTotal: 2})
	})
	add("stopped", func(r *job.Report) { r.State, r.Running = job.StateStopped, false })
	add("many classes", func(r *job.Report) {
		for i := range 10 {
			r.Classes = append(r.Classes, job.Class{Name: string(rune('a' + i)), FilesTotal: 3})
		}
		r.Classes = append(r.Classes, job.Class{Name: "", FilesTotal: 1, ETASeconds: f(60)})
		r.Workers = append(r.Workers, job.Worker{ID: 2, Requests: 2, Path: "long/name.bin"})
	})
	return cs
}
