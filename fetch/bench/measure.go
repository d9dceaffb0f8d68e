package bench

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"slices"
	"strings"
	"time"

	"github.com/grab-ir/grab/fetch/demo"
	"github.com/grab-ir/grab/fetch/job"
	"github.com/grab-ir/grab/fetch/jobdir"
	"github.com/grab-ir/grab/fetch/rate"
)

// window measures one tool's run from the source's side: the demo server
// records the bytes it sends per 100 ms, so the time to the last byte is
// the same measure for every tool, in-process or not.
type window struct {
	srv   *demo.Server
	from  time.Duration // the server's clock when the run started
	start demo.Stats
	t0    time.Time // the wall clock when the run started
}

func openWindow(srv *demo.Server) *window {
	st := srv.Stats()
	return &window{srv: srv, from: st.Elapsed, start: st, t0: time.Now()}
}

// phases is where a run's time went, offsets from the window's start.
type phases struct {
	first, p10, p90, last time.Duration // first byte, 10%, 90% and last byte sent
	done                  time.Duration // when phases was called: the tool had returned
	sent, requests        int64         // bytes (headers and bodies) and HTTP requests
	body                  int64         // file body bytes sent (demo.Stats.BodyBytes)
	streams, circuits     int
	stalls, cuts          int64         // responses the demo stalled and cut (demo.Stats.Stalls, Cuts)
	speeds                float64       // sum of the circuit speeds used, bytes/s
	tail                  []float64     // speeds of the circuits still sending after 90% of the bytes, bytes/s
	ends                  []circuitEnd  // those circuits, what each sent after 90% and when it ended, last first
	said                  string        // grab's own summary, for in-process runs (engineSummary)
	from                  time.Duration // the server's clock when the run started
}

const timelineStep = 100 * time.Millisecond

// circuitEnd is one circuit's part in a run's last 10%.
type circuitEnd struct {
	speed float64       // bytes/s
	bytes int64         // sent after 90% of the bytes
	last  time.Duration // end of its last step with bytes
}

// phases reads the timeline since the window opened.
func (w *window) phases() phases {
	st := w.srv.Stats()
	p := phases{
		sent:     st.BytesSent - w.start.BytesSent,
		requests: st.Requests - w.start.Requests,
		body:     st.BodyBytes - w.start.BodyBytes,
		streams:  st.Streams - w.start.Streams,
		stalls:   st.Stalls - w.start.Stalls,
		cuts:     st.Cuts - w.start.Cuts,
		done:     time.Since(w.t0),
	}
	known := map[string]bool{}
	for _, c := range w.start.Circuits {
		known[c.ID] = true
	}
	speed := map[string]float64{}
	for _, c := range st.Circuits {
		speed[c.ID] = c.Speed
		if !known[c.ID] {
			p.circuits++
			p.speeds += c.Speed
		}
	}
	inTail := map[string]bool{}
	ends := map[string]*circuitEnd{}
	var total, cum int64
	tl := w.srv.Timeline(timelineStep)
	for _, s := range tl {
		if s.Start+timelineStep > w.from {
			total += s.Total
		}
	}
	at := func(s demo.Sample) time.Duration { return s.Start + timelineStep - w.from }
	for _, s := range tl {
		if s.Start+timelineStep <= w.from || s.Total == 0 {
			continue
		}
		if cum == 0 {
			p.first = max(s.Start-w.from, 0)
		}
		before := cum
		cum += s.Total
		if before < total/10 && cum >= total/10 {
			p.p10 = at(s)
		}
		if before < total*9/10 && cum >= total*9/10 {
			p.p90 = at(s)
		}
		p.last = at(s)
		if p.p90 != 0 && at(s) > p.p90 {
			for id, n := range s.Circuits {
				if !inTail[id] {
					inTail[id] = true
					p.tail = append(p.tail, speed[id])
					ends[id] = &circuitEnd{speed: speed[id]}
				}
				ends[id].bytes += n
				ends[id].last = at(s)
			}
		}
	}
	slices.Sort(p.tail)
	for _, c := range ends {
		p.ends = append(p.ends, *c)
	}
	slices.SortFunc(p.ends, func(a, b circuitEnd) int { return cmp.Or(cmp.Compare(b.last, a.last), cmp.Compare(a.speed, b.speed)) })
	return p
}

// describe says where a run's time went, for the lines under the table.
func (p phases) describe(link float64, size int64) string {
	mid := "-"
	if d := (p.p90 - p.p10).Seconds(); d > 0 {
		r := 0.8 * float64(p.sent) / d
		mid = fmt.Sprintf("%.2f MB/s (%.2f of link)", r/1e6, r/link)
	}
	var tail []string
	for _, v := range p.tail {
		tail = append(tail, fmt.Sprintf("%.0f", v/1e3))
	}
	var ends []string
	for _, c := range p.ends[:min(len(p.ends), 4)] {
		ends = append(ends, fmt.Sprintf("%.0f kB/s %.0f kB to %.1f s", c.speed/1e3, float64(c.bytes)/1e3, c.last.Seconds()))
	}
	return fmt.Sprintf("first byte at %.1f s, 10%% at %.1f s, 90%% at %.1f s; 10%%→90%% of bytes at %s; last 10%% took %.1f s on %d circuits of [%s] kB/s, "+
		"ending last: %s; %d requests on %d streams, %d circuits summing %.2f MB/s; source sent %s bytes, %s of them file bytes, for a %s-byte payload",
		p.first.Seconds(), p.p10.Seconds(), p.p90.Seconds(), mid, (p.last-p.p90).Seconds(), len(p.tail), strings.Join(tail, " "), strings.Join(ends, ", "),
		p.requests, p.streams, p.circuits, p.speeds/1e6, groupDigits(p.sent), groupDigits(p.body), groupDigits(size)) + p.said
}

// engineSummary is grab's own account of a run: bytes fetched twice or
// thrown away, circuits replaced, stalls, twins, requests paused.
func engineSummary(s job.Status) string {
	out := fmt.Sprintf("; grab says: %d of %d files done (%s), %d failed; fetched %s this run, %s of it twice or thrown away",
		s.Done, s.Files, rate.Bytes(s.DoneBytes), s.Failed, rate.Bytes(s.Fetched), rate.Bytes(s.Wasted))
	if s.Renewals+s.Stalls+s.Twins > 0 {
		out += fmt.Sprintf("; circuits: %d replaced, %d stalled requests cancelled, %d ranges fetched twice at the end", s.Renewals, s.Stalls, s.Twins)
	}
	if s.Yields > 0 {
		out += fmt.Sprintf("; priority: %d requests of lower classes paused for higher-class files", s.Yields)
	}
	return out
}

// refetched is the share of file body bytes sent beyond the payload:
// bytes sent twice, and bytes sent that no file kept (a killed process's
// partial blocks, ranges guessed past the end, the losing twin of a pair).
func (p phases) refetched(payload int64) float64 {
	return float64(p.body-payload) / float64(payload)
}

// childEnv is the environment for the tools bench runs: without proxy
// variables, so that nothing they do can leave the machine through one.
func childEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasSuffix(strings.ToLower(k), "_proxy") {
			continue
		}
		env = append(env, kv)
	}
	return env
}

// tool runs an external program to completion, or until limit.
func tool(ctx context.Context, limit time.Duration, name string, args ...string) (timedOut bool, out string, err error) {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = childEnv()
	cmd.Stdin = nil
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	err = cmd.Run()
	if ctx.Err() == context.DeadlineExceeded {
		return true, buf.String(), nil
	}
	return false, buf.String(), err
}

// groupDigits writes n with thousands separators.
func groupDigits(n int64) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0 && s[i-1] != '-'; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// benchSettings are grab's settings for a bench run: the defaults of the
// command line, benchWorkers workers, and the demo's proxy.
func benchSettings(dir string, srv *demo.Server) (*job.Settings, map[string]bool) {
	s := job.Defaults()
	s.Output, s.Proxy, s.Workers = dir, "socks5h://"+srv.SOCKSAddr(), benchWorkers
	return &s, map[string]bool{"proxy": true, "workers": true}
}

// manifestPath returns the one file listed in a finished job's
// DIR/.grab/SHA256SUMS.
func manifestPath(dir string) (string, error) {
	b, err := os.ReadFile(jobdir.Dir(dir).Sums())
	if err != nil {
		return "", err
	}
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	_, p, ok := strings.Cut(lines[0], "  ")
	if len(lines) != 1 || !ok {
		return "", fmt.Errorf("want one file in %s/.grab/SHA256SUMS, got %q", dir, b)
	}
	return p, nil
}

// grabRun runs grab's job in this process against srv with settings o
// (made by benchSettings, then adjusted), fetching targets, and checks
// that every file of srv's dump arrived byte-identical. name labels its
// errors. It returns what the demo saw during the run, with grab's own
// account of it.
func (b *bench) grabRun(ctx context.Context, srv *demo.Server, o *job.Settings, given map[string]bool, targets []string, name string) (phases, error) {
	return b.grabRunWith(ctx, srv, o, given, targets, name, nil)
}

// grabRunWith is grabRun handing the job to started as soon as it is
// open (job.Options.Started).
func (b *bench) grabRunWith(ctx context.Context, srv *demo.Server, o *job.Settings, given map[string]bool, targets []string, name string, started func(*job.Job)) (phases, error) {
	urls, err := job.ParseURLs(targets)
	if err != nil {
		return phases{}, err
	}
	var log bytes.Buffer
	w := openWindow(srv)
	runCtx, cancel := context.WithTimeout(ctx, b.limit())
	defer cancel()
	j, err := job.Open(runCtx, job.Options{Settings: *o, Given: given, URLs: urls, Started: started,
		Log: slog.New(slog.NewTextHandler(&log, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err == nil {
		err = j.Run(runCtx)
		defer j.Close()
	}
	if err != nil {
		if ctx.Err() == nil && runCtx.Err() != nil {
			err = fmt.Errorf("did not finish within %v (%w)", b.limit(), err)
		}
		return phases{}, fmt.Errorf("%s: %w\n%s", name, err, log.String())
	}
	p := w.phases()
	p.said, p.from = engineSummary(j.Status()), w.from
	want := len(srv.Dump().Files())
	if want == 0 { // a relay (demo.StartRelay): the caller checks the tree
		return p, nil
	}
	if n, err := srv.Check(o.Output, j.Files()); err != nil || n != want {
		return phases{}, fmt.Errorf("%s: %d of %d files checked: %w", name, n, want, errors.Join(err, demo.ErrNotIdentical))
	}
	return p, nil
}
