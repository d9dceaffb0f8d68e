package job

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/grab-ir/grab/fetch"
	"github.com/grab-ir/grab/fetch/dial"
	"github.com/grab-ir/grab/fetch/digest"
	"github.com/grab-ir/grab/fetch/rate"
	"github.com/grab-ir/grab/fetch/source"
	"github.com/grab-ir/grab/store"
)

// Options start or resume a job.
type Options struct {
	// Settings as given now; Given names the command-line flags that set
	// them (the others come from the saved job, or the defaults). An
	// Output of "" is a folder named after the first URL's host.
	Settings Settings
	Given    map[string]bool
	// URLs are added to the job's (none: resume).
	URLs []*url.URL
	Log  *slog.Logger
	// LogFile, if set, keeps every message of Log's and the engine's
	// info messages, with their times (--log); it is appended to.
	LogFile string
	// TorBoot hears tor's bootstrap progress with --tor.
	TorBoot func(instance, pct int, summary string)
	// Finished hears of every file once it is in the tree, verified.
	Finished func(fetch.File)
	// Tune adjusts the engine's configuration before the engine is made
	// (tests use it for small blocks and short backoffs).
	Tune func(*fetch.Config)
	// Started hears of the job as soon as Open holds its lock, before the
	// journal is loaded and tor started, so that a display can show the
	// start-up (Job.Report is safe to call from then on).
	Started func(*Job)
}

// Job is one run of a job: its folder, its settings, its source, its tor
// and its engine.
type Job struct {
	s        *Settings
	p        *plan
	st       *store.Store
	e        *fetch.Engine
	tor      *torRun
	log      *slog.Logger
	began    time.Time
	closed   bool
	closeLog func()       // the LogFile
	srv      *server      // the status socket; nil if it could not be served
	man      *manifestLog // nil with --dry-run
	tree     *os.Root     // the output folder, for files' mtimes (openTree)
	ev       *events
	sums     *digest.Checksums
	finished func(fetch.File) // Options.Finished

	mu     sync.Mutex // guards what the status socket reads
	live   *fetch.Engine
	order  []string
	phase  string
	est    *rate.Estimator // nil before Run
	resume *Resume
}

// Resume is what Open found in a folder that held a job already.
type Resume struct {
	Done, Files int    // files done, of the files to fetch
	Kept        string // settings kept from earlier runs, as flags; "" for none
}

// Open opens the job in o.Settings.Output, or creates it, adds o.URLs and
// gets everything ready to run: the saved and given settings merged, the
// source chosen by the URLs' schemes, and tor started when the job has
// work left and --tor is set. Nothing is created before the settings are
// known to be good. Close it when done.
func Open(ctx context.Context, o Options) (j *Job, err error) {
	ev := &events{}
	log, closeLog, err := runLog(o.Log, o.LogFile, ev)
	if err != nil {
		return nil, err
	}
	defer func() {
		if j == nil {
			closeLog()
		}
	}()
	cur := o.Settings
	if cur.Output == "" && len(o.URLs) > 0 {
		cur.Output = defaultOutput(o.URLs[0])
	}
	if err := cur.AbsPaths(); err != nil {
		return nil, err
	}
	if !store.Exists(cur.Output) {
		p, err := cur.build()
		if err != nil {
			return nil, err
		}
		if err := p.checkHosts(o.URLs); err != nil {
			return nil, err
		}
		if _, err := cur.rsyncPassword(); err != nil {
			return nil, err
		}
		if p.tor {
			if _, err := torPreflight(&cur); err != nil {
				return nil, err
			}
		}
	}
	st, err := store.Open(cur.Output)
	if err != nil {
		return nil, err
	}
	j = &Job{st: st, log: log, closeLog: closeLog, began: time.Now(), ev: ev, finished: o.Finished, phase: StateStarting}
	if j.srv, err = serve(cur.Output, j.log, j.Report, j.liveFiles); err != nil {
		j.log.Warn(err.Error() + "; grab status will not see this run")
	}
	if o.Started != nil {
		o.Started(j)
	}
	if err := j.open(ctx, &cur, o); err != nil {
		j.Close()
		return nil, err
	}
	return j, nil
}

func (j *Job) open(ctx context.Context, cur *Settings, o Options) error {
	rec, err := j.st.Job()
	switch {
	case errors.Is(err, store.ErrNoJob):
		if len(o.URLs) == 0 {
			return &UsageError{Msg: fmt.Sprintf("%s %v", cur.Output, ErrNoJob), Hint: "give the URLs to fetch: grab -o " + cur.Output + " URL..."}
		}
		rec = store.Job{Created: time.Now().UTC()}
	case err != nil:
		return err
	}
	s, err := cur.Merge(rec.Settings, o.Given)
	if err != nil {
		return err
	}
	resuming := len(rec.URLs) > 0
	p, err := s.build()
	if err != nil {
		return err
	}
	if p.password, err = s.rsyncPassword(); err != nil {
		return err
	}
	j.s, j.p = s, p
	for _, u := range o.URLs {
		if !slices.Contains(rec.URLs, u.String()) {
			rec.URLs = append(rec.URLs, u.String())
		}
	}
	all, err := ParseURLs(rec.URLs)
	if err != nil {
		return err
	}
	if err := p.checkHosts(all); err != nil {
		return err
	}
	if rec.Settings, err = s.json(); err != nil {
		return err
	}
	if err := j.st.SetJob(rec); err != nil {
		return err
	}
	var sums *digest.Checksums
	if s.Checksums != "" {
		if sums, err = readChecksums(s.Checksums); err != nil {
			return err
		}
	}

	p.crawler.SetLog(j.log)
	// The source is chosen before the engine loads the journal; with --tor
	// its dialers exist only once tor runs, which waits until the journal
	// says there is work left.
	src := &torSource{}
	retries := s.Retries
	if retries == 0 {
		retries = fetch.NoRetries
	}
	cfg := fetch.Config{
		Dir: s.Output, Workers: s.Workers, Streams: s.Streams, ChunkSize: p.chunk, Retries: retries,
		StallTimeout: p.stall, LimitRate: p.limit, MaxWait: p.maxWait, MaxBody: p.maxBody,
		Source: src, Journal: j.st, Log: j.log, Finished: j.fileFinished, Hashes: s.hashes(),
		Less: p.less, Expand: p.crawler.Expand, Admit: p.crawler.Admit, Rename: p.crawler.Rename, CrawlOnly: s.DryRun,
	}
	schemes := schemesOf(all)
	if !p.tor {
		if cfg.Source, err = source.New(schemes, source.Options{Dialers: []*dial.Dialer{p.dialer}, TLS: p.tls, Header: p.header, Cookies: p.cookies, Password: p.password}); err != nil {
			return err
		}
	}
	if o.Tune != nil {
		o.Tune(&cfg)
	}
	j.sums = sums
	j.setPhase(StateVerifying)
	if j.e, err = fetch.New(cfg); err != nil {
		return err
	}
	j.mu.Lock()
	j.live, j.order = j.e, p.order
	j.mu.Unlock()
	if !s.DryRun {
		if err := j.openManifest(); err != nil {
			return err
		}
	}
	p.crawler.Restore(j.e.Files())
	start, err := p.crawler.Start(all)
	if err != nil {
		return err
	}
	j.e.Add(start)
	if resuming {
		st := j.e.Status()
		j.resume = &Resume{Done: st.Done, Files: st.Files, Kept: s.kept(o.Given)}
	}
	if p.tor {
		j.setPhase(StateTor)
		if err := j.startTor(ctx, src, schemes, o.TorBoot); err != nil {
			return err
		}
	}
	j.setPhase(StateStarting)
	if sums != nil {
		for _, f := range j.e.Files() {
			if want := sums.Lookup(f.Path); want != nil {
				j.e.Expect(f.URL, want)
			}
		}
		p.crawler.SetChecksums(sums)
	}
	return nil
}

// startTor starts grab's own tors when the job has work left; a job with
// nothing left gets a source that refuses every request rather than let
// one bypass Tor.
func (j *Job) startTor(ctx context.Context, src *torSource, schemes []string, boot func(int, int, string)) error {
	if st := j.e.Status(); st.Done+st.Failed == st.Files && st.ListingsDone == st.Listings {
		src.Source = noSource{}
		return nil
	}
	tr, err := startTor(ctx, boot, j.log, j.s)
	if err != nil {
		return err
	}
	j.mu.Lock() // the status socket may be reading
	j.tor = tr
	j.mu.Unlock()
	// Workers are spread over the tors: worker i uses tor i % N.
	src.Source, err = source.New(schemes, source.Options{Dialers: tr.dialers, TLS: j.p.tls, Header: j.p.header, Cookies: j.p.cookies, Password: j.p.password})
	return err
}

// Run fetches everything pending, then writes DIR/.grab/SHA256SUMS. It
// returns fetch.ErrFailed when files could not be fetched.
func (j *Job) Run(ctx context.Context) error {
	stopWatch := func() {}
	if j.tor != nil {
		stopWatch = j.tor.watch(ctx, j.e.Status)
	}
	stopSample := j.sample()
	j.setPhase(StateRunning)
	err := j.e.Run(ctx)
	stopWatch()
	stopSample()
	j.setPhase(endState(err, j.e.Status()))
	if j.s.DryRun {
		return err
	}
	if werr := writeSums(j.s.Output, j.e.Files()); werr != nil && err == nil {
		err = werr
	}
	return err
}

// Status is a snapshot of a job, as data.
type Status struct {
	fetch.Status
	// Order is the class names in fetch order: "" (start URLs) first.
	Order []string
	// Tor is tor's circuits in a line, "" without --tor or before the
	// first look.
	Tor   string
	Began time.Time
}

// Status returns the job's state now.
func (j *Job) Status() Status {
	s := Status{Status: j.e.Status(), Order: j.p.order, Began: j.began}
	if j.tor != nil {
		s.Tor = j.tor.status()
	}
	return s
}

// Resumed says what was there already; nil for a new job.
func (j *Job) Resumed() *Resume { return j.resume }

// Files returns every record of the job (see fetch.Engine.Files).
func (j *Job) Files() []fetch.File { return j.e.Files() }

// Settings are the job's settings, saved and given merged.
func (j *Job) Settings() Settings { return *j.s }

// TorCircuits looks at tor's circuits once more and returns them in a
// line ("" without --tor).
func (j *Job) TorCircuits(ctx context.Context) string {
	if j.tor == nil {
		return ""
	}
	if _, _, _, err := j.tor.circuits(ctx); err != nil {
		return ""
	}
	return j.tor.status()
}

// Close stops tor and closes the job's state.
func (j *Job) Close() error {
	if j.closed {
		return nil
	}
	j.closed = true
	if j.srv != nil {
		j.srv.close()
	}
	var err error
	if j.man != nil {
		err = j.man.close()
	}
	if j.tor != nil {
		j.tor.close()
	}
	if j.e != nil {
		j.e.Close()
	}
	if j.tree != nil {
		j.tree.Close()
	}
	if cerr := j.st.Close(); err == nil {
		err = cerr
	}
	j.closeLog()
	return err
}

// torSource is the Source of a --tor job: chosen once the journal is
// loaded, set before the engine runs.
type torSource struct{ fetch.Source }

// noSource is the source of a --tor job with nothing left to fetch: it
// refuses every request rather than let one bypass Tor.
type noSource struct{}

func (noSource) Conn(int) fetch.Conn { return noConn{} }

type noConn struct{}

func (noConn) Get(context.Context, fetch.Request) (*fetch.Stream, error) {
	return nil, &fetch.PermanentError{Err: errors.New("tor is not running: the job had nothing left to fetch")}
}
func (noConn) Close() error { return nil }

func readChecksums(name string) (*digest.Checksums, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, &HintError{Err: fmt.Errorf("reading checksums: %w", err), Hint: "--checksums takes a SHA256SUMS or MD5SUMS style file"}
	}
	defer f.Close()
	return digest.ParseChecksums(f)
}

// ParseURLs checks the URLs a user gave: each of a scheme grab fetches.
func ParseURLs(raw []string) ([]*url.URL, error) {
	var out []*url.URL
	for _, r := range raw {
		u, err := url.Parse(r)
		if err == nil {
			err = source.Check(u)
		}
		if err != nil {
			return nil, &UsageError{Msg: fmt.Sprintf("%q is not an %s URL", r, source.Names())}
		}
		u.Fragment, u.RawFragment = "", ""
		out = append(out, u)
	}
	return out, nil
}

func schemesOf(urls []*url.URL) []string {
	var out []string
	for _, u := range urls {
		if s := strings.ToLower(u.Scheme); !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// defaultOutput names the output folder after the first URL's host: a
// plain name in the current folder, whatever the host is ("..", "/",
// control characters).
func defaultOutput(u *url.URL) string {
	name := u.Hostname()
	if p := u.Port(); p != "" {
		name += "_" + p
	}
	name = strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '-', r == '_':
			return r
		}
		return '_'
	}, name)
	if name = strings.TrimLeft(name, "."); name == "" {
		name = "grab-output"
	}
	return name
}
