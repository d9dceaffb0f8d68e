package main

import (
	"strings"
	"testing"
	"time"

	"github.com/grab-ir/grab/fetch/job"
)

func sampleReport() job.Report {
	began := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	f := func(v float64) *float64 { return &v }
	return job.Report{Version: job.Version, State: job.StateRunning, Running: true, PID: 42, Began: began,
		Listings: 8, ListingsDone: 8, FilesDone: 70, FilesFailed: 1, FilesTotal: 146,
		BytesDone: 10 << 20, BytesTotal: 40 << 20, BytesEstimated: 2 << 20, RateBPS: 1.5e6, ETASeconds: f(7380), ETAApprox: true,
		Classes: []job.Class{
			{Name: "photos", FilesDone: 60, FilesTotal: 60, BytesDone: 5 << 20, BytesTotal: 5 << 20, ETASeconds: f(0)},
			{Name: "documents", FilesDone: 10, FilesFailed: 1, FilesTotal: 20, BytesDone: 5 << 20, BytesTotal: 7 << 20, ETASeconds: f(1800)},
			{Name: "archives", FilesTotal: 66, BytesTotal: 28 << 20, BytesEstimated: 2 << 20, ETASeconds: f(7380), ETAApprox: true},
		},
		Workers: []job.Worker{{ID: 0, RateBPS: 230e3, Requests: 1, Path: "archives/a\x1b[2J.zip", AgeSeconds: 12}, {ID: 1}},
	}
}

// The frame a terminal shows, exactly, at 80 columns; a name with an
// escape sequence is defused.
func TestFrame(t *testing.T) {
	got := strings.Join(frame(sampleReport(), 80, time.Date(2026, 12, 1, 11, 0, 0, 0, time.UTC)), "\n")
	want := `running  70/146 files, 1 failed  1.50 MB/s  ETA ~2h03m
10.00 MiB / 40.00 MiB [============>                                    ] 25.00%
  documents     10/20    1 failed 5.0 MiB/7.0 MiB  ETA 30m00s
  archives       0/66    0 B/~28.0 MiB  ETA ~2h03m
  done: photos
circuits 1/2 busy: 230 kB`
	if got != want {
		t.Fatalf("frame:\n%s\nwant:\n%s", got, want)
	}
	r := sampleReport()
	r.State, r.Verifying = job.StateVerifying, &job.Progress{Done: 1 << 30, Total: 4 << 30}
	if got := frame(r, 80, time.Now())[0]; got != "grab: verifying 1.0 GiB of 4.0 GiB of partial files" {
		t.Fatalf("verifying: %q", got)
	}
}

func TestStatusText(t *testing.T) {
	got := strings.Join(statusLines(sampleReport(), 0, time.Date(2026, 12, 1, 11, 0, 0, 0, time.UTC)), "\n")
	want := `state: running (pid 42, up 1h00m)
files: 70 of 146 done, 1 failed
bytes: 10.0 MiB of ~40.0 MiB (2.0 MiB of it estimated from listings)
rate: 1.50 MB/s, ETA ~2h03m
classes, in priority order:
  photos         60/60     files  5.0 MiB of 5.0 MiB  done
  documents      10/20     files, 1 failed  5.0 MiB of 7.0 MiB  ETA 30m00s
  archives        0/66     files  0 B of ~28.0 MiB  ETA ~2h03m
circuits: 2, 1 busy
  #0    230 kB/s    12s  archives/a\x1b[2J.zip`
	if got != want {
		t.Fatalf("status:\n%s\nwant:\n%s", got, want)
	}
}

func TestPlainLine(t *testing.T) {
	want := "grab: 10.0 MiB of ~40.0 MiB (25.0%), 1.50 MB/s, ETA ~2h03m, 70/146 files done, 1 failed, 0 requests; documents in 30m00s, archives in ~2h03m"
	if got := plainLine(sampleReport()); got != want {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
}

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

// Every state a run passes through, as the live frame (100 columns),
// grab status (no width) and the plain line show it: pinned before the
// three renderers were put into one file.
func TestRenderStates(t *testing.T) {
	now := time.Date(2026, 12, 1, 11, 0, 0, 0, time.UTC)
	next := time.Date(2026, 12, 1, 11, 5, 0, 0, time.Local)
	want := []struct{ name, frame, status, plain string }{
		{"starting",
			"grab: starting",
			"state: starting (pid 7, up 1h00m)\nfiles: 0 of 0 done, 0 failed\nbytes: 0 B of 0 B\nrate: -- kB/s, ETA --",
			"grab: starting"},
		{"tor",
			"grab: building circuits (starting tor)\ntor: 2 of 3 circuits built",
			"state: building circuits (pid 7, up 1h00m)\nfiles: 0 of 0 done, 0 failed\nbytes: 0 B of 0 B\nrate: -- kB/s, ETA --\ntor: 2 of 3 circuits built",
			"grab: building circuits"},
		{"verifying",
			"grab: verifying 1.0 GiB of 4.0 GiB of partial files\n1.00 GiB / 4.00 GiB [=================>                                                     ] 25.00%",
			"state: verifying partial files (pid 42, up 1h00m)\nverifying 1.0 GiB of 4.0 GiB of partial files\nfiles: 70 of 146 done, 1 failed\nbytes: 10.0 MiB of ~40.0 MiB (2.0 MiB of it estimated from listings)\nrate: 1.50 MB/s, ETA ~2h03m\nclasses, in priority order:\n  photos         60/60     files  5.0 MiB of 5.0 MiB  done\n  documents      10/20     files, 1 failed  5.0 MiB of 7.0 MiB  ETA 30m00s\n  archives        0/66     files  0 B of ~28.0 MiB  ETA ~2h03m\ncircuits: 2, 1 busy\n  #0    230 kB/s    12s  archives/a\\x1b[2J.zip",
			"grab: verifying 1.0 GiB of 4.0 GiB of partial files"},
		{"verifying, nil",
			"grab: verifying 0 B of 0 B of partial files\nno sizes known yet",
			"state: verifying partial files (pid 42, up 1h00m)\nfiles: 70 of 146 done, 1 failed\nbytes: 10.0 MiB of ~40.0 MiB (2.0 MiB of it estimated from listings)\nrate: 1.50 MB/s, ETA ~2h03m\nclasses, in priority order:\n  photos         60/60     files  5.0 MiB of 5.0 MiB  done\n  documents      10/20     files, 1 failed  5.0 MiB of 7.0 MiB  ETA 30m00s\n  archives        0/66     files  0 B of ~28.0 MiB  ETA ~2h03m\ncircuits: 2, 1 busy\n  #0    230 kB/s    12s  archives/a\\x1b[2J.zip",
			"grab: verifying 0 B of 0 B of partial files"},
		{"waiting",
			"waiting for source or proxy  70/146 files, 1 failed  next try 11:05:00: connection refused\n10.00 MiB / 40.00 MiB [=================>                                                   ] 25.00%\n  documents     10/20    1 failed 5.0 MiB/7.0 MiB  ETA 30m00s\n  archives       0/66    0 B/~28.0 MiB  ETA ~2h03m\n  done: photos\ncircuits 1/2 busy: 230 kB",
			"state: waiting for source or proxy (pid 42, up 1h00m), next try at 11:05:00: connection refused\nfiles: 70 of 146 done, 1 failed\nbytes: 10.0 MiB of ~40.0 MiB (2.0 MiB of it estimated from listings)\nrate: 1.50 MB/s, ETA ~2h03m\nclasses, in priority order:\n  photos         60/60     files  5.0 MiB of 5.0 MiB  done\n  documents      10/20     files, 1 failed  5.0 MiB of 7.0 MiB  ETA 30m00s\n  archives        0/66     files  0 B of ~28.0 MiB  ETA ~2h03m\ncircuits: 2, 1 busy\n  #0    230 kB/s    12s  archives/a\\x1b[2J.zip",
			"grab: waiting for source, next try at 11:05:00: connection refused; 70/146 files done"},
		{"waiting, no why",
			"waiting for source or proxy  70/146 files, 1 failed  next try 11:05:00\n10.00 MiB / 40.00 MiB [=================>                                                   ] 25.00%\n  documents     10/20    1 failed 5.0 MiB/7.0 MiB  ETA 30m00s\n  archives       0/66    0 B/~28.0 MiB  ETA ~2h03m\n  done: photos\ncircuits 1/2 busy: 230 kB",
			"state: waiting for source or proxy (pid 42, up 1h00m), next try at 11:05:00\nfiles: 70 of 146 done, 1 failed\nbytes: 10.0 MiB of ~40.0 MiB (2.0 MiB of it estimated from listings)\nrate: 1.50 MB/s, ETA ~2h03m\nclasses, in priority order:\n  photos         60/60     files  5.0 MiB of 5.0 MiB  done\n  documents      10/20     files, 1 failed  5.0 MiB of 7.0 MiB  ETA 30m00s\n  archives        0/66     files  0 B of ~28.0 MiB  ETA ~2h03m\ncircuits: 2, 1 busy\n  #0    230 kB/s    12s  archives/a\\x1b[2J.zip",
			"grab: waiting for source, next try at 11:05:00: ; 70/146 files done"},
		{"crawling",
			"crawling  70/146 files, 1 failed  crawling 3 of 8 listings  1.50 MB/s  ETA ~2h03m\n10.00 MiB / 40.00 MiB [=================>                                                   ] 25.00%\n  documents     10/20    1 failed 5.0 MiB/7.0 MiB  ETA 30m00s\n  archives       0/66    0 B/~28.0 MiB  ETA ~2h03m\n  done: photos\ncircuits 1/2 busy: 230 kB\ntor: 16 circuits",
			"state: crawling (pid 42, up 1h00m)\ncrawling: 3 of 8 listings read\nfiles: 70 of 146 done, 1 failed, 12 of unknown size\nbytes: 10.0 MiB of ~40.0 MiB (2.0 MiB of it estimated from listings)\nrate: 1.50 MB/s, ETA ~2h03m\nclasses, in priority order:\n  photos         60/60     files  5.0 MiB of 5.0 MiB  done\n  documents      10/20     files, 1 failed  5.0 MiB of 7.0 MiB  ETA 30m00s\n  archives        0/66     files  0 B of ~28.0 MiB  ETA ~2h03m\ncircuits: 2, 1 busy\n  #0    230 kB/s    12s  archives/a\\x1b[2J.zip\ntor: 16 circuits\nrecent errors:\n  11:05:00 listing x/: 503 \\x1b[31m",
			"grab: 10.0 MiB of ~40.0 MiB + 12 of unknown size (25.0%), 1.50 MB/s, ETA ~2h03m, 70/146 files done, 1 failed, 5 requests, crawling 3 of 8 listings; documents in 30m00s, archives in ~2h03m; tor: 16 circuits"},
		{"no rate",
			"running  70/146 files, 1 failed  -- kB/s  ETA --\nno sizes known yet\n  documents     10/20    1 failed 5.0 MiB/7.0 MiB  ETA 30m00s\n  archives       0/66    0 B/~28.0 MiB  ETA ~2h03m\n  done: photos\ncircuits 1/2 busy: 230 kB",
			"state: running (pid 42, up 1h00m)\nfiles: 70 of 146 done, 1 failed\nbytes: 10.0 MiB of 0 B\nrate: -- kB/s, ETA --\nclasses, in priority order:\n  photos         60/60     files  5.0 MiB of 5.0 MiB  done\n  documents      10/20     files, 1 failed  5.0 MiB of 7.0 MiB  ETA 30m00s\n  archives        0/66     files  0 B of ~28.0 MiB  ETA ~2h03m\ncircuits: 2, 1 busy\n  #0    230 kB/s    12s  archives/a\\x1b[2J.zip",
			"grab: 10.0 MiB of 0 B (0.0%), -- kB/s, ETA --, 70/146 files done, 1 failed, 0 requests; documents in 30m00s, archives in ~2h03m"},
		{"no rate, eta",
			"running  70/146 files, 1 failed  0 B/s  ETA 0s\n10.00 MiB / 40.00 MiB [=================>                                                   ] 25.00%\n  documents     10/20    1 failed 5.0 MiB/7.0 MiB  ETA 30m00s\n  archives       0/66    0 B/~28.0 MiB  ETA ~2h03m\n  done: photos\ncircuits 1/2 busy: 230 kB",
			"state: running (pid 42, up 1h00m)\nfiles: 70 of 146 done, 1 failed\nbytes: 10.0 MiB of ~40.0 MiB (2.0 MiB of it estimated from listings)\nrate: 0 B/s, ETA 0s\nclasses, in priority order:\n  photos         60/60     files  5.0 MiB of 5.0 MiB  done\n  documents      10/20     files, 1 failed  5.0 MiB of 7.0 MiB  ETA 30m00s\n  archives        0/66     files  0 B of ~28.0 MiB  ETA ~2h03m\ncircuits: 2, 1 busy\n  #0    230 kB/s    12s  archives/a\\x1b[2J.zip",
			"grab: 10.0 MiB of ~40.0 MiB (25.0%), 0 B/s, ETA 0s, 70/146 files done, 1 failed, 0 requests; documents in 30m00s, archives in ~2h03m"},
		{"done",
			"done  145/146 files, 1 failed  in 1h00m\n10.00 MiB / 40.00 MiB [=================>                                                   ] 25.00%\n  done: photos, documents, archives, named",
			"state: done (no grab is running it)\nfiles: 145 of 146 done, 1 failed\nbytes: 10.0 MiB of ~40.0 MiB (2.0 MiB of it estimated from listings)\nclasses, in priority order:\n  photos         60/60     files  5.0 MiB of 5.0 MiB  done\n  documents      19/20     files, 1 failed  5.0 MiB of 7.0 MiB  done\n  archives       66/66     files  0 B of ~28.0 MiB  done\n  named           2/2      files  0 B of 0 B  done\ncircuits: 2, 1 busy\n  #0    230 kB/s    12s  archives/a\\x1b[2J.zip",
			"grab: 10.0 MiB of ~40.0 MiB (25.0%), 1.50 MB/s, ETA ~2h03m, 145/146 files done, 1 failed, 0 requests"},
		{"stopped",
			"stopped  70/146 files, 1 failed  in 1h00m\n10.00 MiB / 40.00 MiB [=================>                                                   ] 25.00%\n  documents     10/20    1 failed 5.0 MiB/7.0 MiB  ETA 30m00s\n  archives       0/66    0 B/~28.0 MiB  ETA ~2h03m\n  done: photos",
			"state: stopped (no grab is running it)\nfiles: 70 of 146 done, 1 failed\nbytes: 10.0 MiB of ~40.0 MiB (2.0 MiB of it estimated from listings)\nclasses, in priority order:\n  photos         60/60     files  5.0 MiB of 5.0 MiB  done\n  documents      10/20     files, 1 failed  5.0 MiB of 7.0 MiB  \n  archives        0/66     files  0 B of ~28.0 MiB  \ncircuits: 2, 1 busy\n  #0    230 kB/s    12s  archives/a\\x1b[2J.zip",
			"grab: 10.0 MiB of ~40.0 MiB (25.0%), 1.50 MB/s, ETA ~2h03m, 70/146 files done, 1 failed, 0 requests; documents in 30m00s, archives in ~2h03m"},
		{"many classes",
			"running  70/146 files, 1 failed  1.50 MB/s  ETA ~2h03m\n10.00 MiB / 40.00 MiB [=================>                                                   ] 25.00%\n  documents     10/20    1 failed 5.0 MiB/7.0 MiB  ETA 30m00s\n  archives       0/66    0 B/~28.0 MiB  ETA ~2h03m\n  a              0/3     0 B/0 B  ETA --\n  b              0/3     0 B/0 B  ETA --\n  c              0/3     0 B/0 B  ETA --\n  d              0/3     0 B/0 B  ETA --\n  e              0/3     0 B/0 B  ETA --\n  f              0/3     0 B/0 B  ETA --\n  done: photos\ncircuits 2/3 busy: 230 kB --",
			"state: running (pid 42, up 1h00m)\nfiles: 70 of 146 done, 1 failed\nbytes: 10.0 MiB of ~40.0 MiB (2.0 MiB of it estimated from listings)\nrate: 1.50 MB/s, ETA ~2h03m\nclasses, in priority order:\n  photos         60/60     files  5.0 MiB of 5.0 MiB  done\n  documents      10/20     files, 1 failed  5.0 MiB of 7.0 MiB  ETA 30m00s\n  archives        0/66     files  0 B of ~28.0 MiB  ETA ~2h03m\n  a               0/3      files  0 B of 0 B  ETA --\n  b               0/3      files  0 B of 0 B  ETA --\n  c               0/3      files  0 B of 0 B  ETA --\n  d               0/3      files  0 B of 0 B  ETA --\n  e               0/3      files  0 B of 0 B  ETA --\n  f               0/3      files  0 B of 0 B  ETA --\n  g               0/3      files  0 B of 0 B  ETA --\n  h               0/3      files  0 B of 0 B  ETA --\n  i               0/3      files  0 B of 0 B  ETA --\n  j               0/3      files  0 B of 0 B  ETA --\n  named           0/1      files  0 B of 0 B  ETA 1m00s\ncircuits: 3, 2 busy\n  #0    230 kB/s    12s  archives/a\\x1b[2J.zip\n  #2          --     0s  long/name.bin",
			"grab: 10.0 MiB of ~40.0 MiB (25.0%), 1.50 MB/s, ETA ~2h03m, 70/146 files done, 1 failed, 0 requests; documents in 30m00s, archives in ~2h03m, a in --, b in --, c in --, d in --, e in --, f in --, g in --, h in --, i in --, j in --"},
	}
	cases := renderCases(next)
	if len(cases) != len(want) {
		t.Fatalf("%d cases, %d wanted", len(cases), len(want))
	}
	for i, c := range cases {
		w := want[i]
		if got := strings.Join(frame(c.r, 100, now), "\n"); got != w.frame {
			t.Errorf("%s: frame:\n%s\nwant:\n%s", c.name, got, w.frame)
		}
		if got := strings.Join(statusLines(c.r, 0, now), "\n"); got != w.status {
			t.Errorf("%s: status:\n%s\nwant:\n%s", c.name, got, w.status)
		}
		if got := plainLine(c.r); got != w.plain {
			t.Errorf("%s: plain:\n%s\nwant:\n%s", c.name, got, w.plain)
		}
	}
}
