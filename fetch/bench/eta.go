package bench

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/grab-ir/grab/fetch/demo"
	"github.com/grab-ir/grab/fetch/job"
)

// The eta scenario (issue 12) measures how good the ETAs grab shows are:
// the demo's breach-like dump with --priority photos, the job's report
// sampled every etaStep. An ETA given at time t says the run ends at
// t+ETA; its error is how far that is from the real end, as a share of
// the whole run. The score is the mean absolute error over the samples
// after the first 20% of the run (target <= 10%), for the overall ETA and
// for the photos' (against when the last photo was done).
const (
	etaStep   = 250 * time.Millisecond
	etaSkip   = 0.2
	etaTarget = 0.10
)

// etaSample is one look at the report.
type etaSample struct {
	at     time.Duration // since the run started
	eta    *float64
	photos *float64
	photoD bool // every photo done
}

func runETA(ctx context.Context, b *bench) error {
	seeds := []int64{1, 2, 3}
	if b.opts.Quick {
		seeds = seeds[:1]
	}
	spec := demo.DefaultBreachSpec()
	m := demo.DefaultModel()
	fmt.Fprintf(b.out, "\n## eta: how far the ETA is from the real end, demo.BreachDump, --priority photos\n\n")
	fmt.Fprintf(b.out, "model: demo.DefaultModel (median %.0f kB/s, sigma %.1f, link %.2f MB/s, RTT %v, build %v); "+
		"report sampled every %v; error = |t + ETA - end| / run, mean over the samples after the first %.0f%% of the run\n\n",
		m.Median/1e3, m.Sigma, m.LinkCap/1e6, m.RTT, m.Build, etaStep, 100*etaSkip)
	fmt.Fprintln(b.out, "| seed | run (s) | overall ETA: mean abs error | max | known | photos ETA: mean abs error | max |")
	fmt.Fprintln(b.out, "|---|---|---|---|---|---|---|")
	var sum float64
	for _, seed := range seeds {
		m.Seed = seed
		run, all, photos, err := b.etaRun(ctx, demo.BreachDump(seed, spec), m)
		if err != nil {
			return err
		}
		sum += all.mean
		fmt.Fprintf(b.out, "| %d | %.1f | %s | %s | %s | %s | %s |\n", seed, run.Seconds(), pct(all.mean), pct(all.max),
			pct(all.known), pct(photos.mean), pct(photos.max))
	}
	mean := sum / float64(len(seeds))
	verdict := "meets"
	if mean > etaTarget {
		verdict = "misses"
	}
	fmt.Fprintf(b.out, "\noverall ETA: mean absolute error %s of the run over %d runs: %s the target of %s\n", pct(mean), len(seeds), verdict, pct(etaTarget))
	return nil
}

// etaErr is a score over samples.
type etaErr struct {
	mean, max float64
	known     float64 // share of the samples scored that had an ETA
}

// score scores ETAs (seconds, nil unknown) sampled at times against the
// real end, over the samples from skip of the run on. Unknown ETAs are
// left out of the mean and counted in known.
func score(samples []etaSample, eta func(etaSample) *float64, end, run time.Duration) etaErr {
	var e etaErr
	n, k := 0, 0
	for _, s := range samples {
		if s.at < time.Duration(etaSkip*float64(run)) || s.at > end {
			continue
		}
		n++
		v := eta(s)
		if v == nil {
			continue
		}
		k++
		d := math.Abs((s.at.Seconds()+*v)-end.Seconds()) / run.Seconds()
		e.mean += d
		e.max = max(e.max, d)
	}
	if k > 0 {
		e.mean /= float64(k)
	}
	if n > 0 {
		e.known = float64(k) / float64(n)
	}
	return e
}

// etaRun fetches dump with --priority photos and samples the job's report.
func (b *bench) etaRun(ctx context.Context, dump *demo.Dump, m demo.Model) (time.Duration, etaErr, etaErr, error) {
	srv, err := demo.Start(ctx, dump, m)
	if err != nil {
		return 0, etaErr{}, etaErr{}, err
	}
	defer srv.Close()
	dir, err := b.dir(fmt.Sprintf("eta-%d", m.Seed))
	if err != nil {
		return 0, etaErr{}, etaErr{}, err
	}
	o, given := benchSettings(dir, srv)
	o.Priority, given["priority"] = "photos", true
	b.say("bench: eta: seed %d", m.Seed)

	var (
		mu      sync.Mutex
		samples []etaSample
		j       *job.Job
		began   = time.Now()
		stop    = make(chan struct{})
		stopped = make(chan struct{})
	)
	sample := func() {
		defer close(stopped)
		t := time.NewTicker(etaStep)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case now := <-t.C:
				mu.Lock()
				jj := j
				mu.Unlock()
				if jj == nil {
					continue
				}
				r := jj.Report()
				s := etaSample{at: now.Sub(began), eta: r.ETASeconds}
				for _, c := range r.Classes {
					if c.Name == "photos" {
						s.photos, s.photoD = c.ETASeconds, c.Settled() && r.ListingsDone == r.Listings
					}
				}
				mu.Lock()
				samples = append(samples, s)
				mu.Unlock()
			}
		}
	}
	go sample()
	_, err = b.grabRunWith(ctx, srv, o, given, []string{srv.BaseURL()}, "eta", func(jj *job.Job) {
		mu.Lock()
		j = jj
		mu.Unlock()
	})
	run := time.Since(began)
	close(stop)
	<-stopped
	if err != nil {
		return 0, etaErr{}, etaErr{}, err
	}
	photosEnd := run
	for _, s := range samples {
		if s.photoD {
			photosEnd = s.at
			break
		}
	}
	all := score(samples, func(s etaSample) *float64 { return s.eta }, run, run)
	photos := score(samples, func(s etaSample) *float64 { return s.photos }, photosEnd, run)
	return run, all, photos, nil
}
