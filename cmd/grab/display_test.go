package main

import (
	"bytes"
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

// Text written above the block erases it, appears, and the block is drawn
// again below it.
func TestScreenWritesAbove(t *testing.T) {
	var out bytes.Buffer
	s := newScreen(&out)
	s.draw([]string{"a", "b"})
	s.writer(&out).Write([]byte("grab: warn: x\n"))
	s.final([]string{"c"})
	s.writer(&out).Write([]byte("after\n"))
	want := "\r\033[Ka\n\r\033[Kb\n" + "\r\033[2A\033[J" + "grab: warn: x\n" + "\r\033[Ka\n\r\033[Kb\n" +
		"\r\033[2A\033[J\r\033[Kc\n" + "after\n"
	if out.String() != want {
		t.Fatalf("%q\nwant %q", out.String(), want)
	}
}
