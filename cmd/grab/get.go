package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/grab-ir/grab/fetch"
	"github.com/grab-ir/grab/fetch/digest"
	"github.com/grab-ir/grab/fetch/httpsrc"
	"github.com/grab-ir/grab/store"
)

const usageGet = `grab: pull large dumps from slow, flaky sources (onion services) without losing a byte

usage: grab [flags] URL...        start or resume a job (flags may follow the URLs)
       grab -o DIR                resume the job in DIR
       grab ls [-o DIR] [--json]  the plan: every file in fetch order, with class, size, state
       grab classes               the file classes and their extensions
       grab demo [flags]          download from a built-in slow onion-like source
       grab bench [flags]         measure grab against the physical limit and other tools
       grab help | version

A URL ending in "/" is a directory listing: it is crawled, and files land
in DIR at their path below it (http://h/dump/a/b.jpg → DIR/a/b.jpg). Any
other URL is one file (→ DIR/b.jpg).

flags:
  -o, --output DIR       where files go (default: a folder named after the host);
                         grab's state lives in DIR/.grab
  -i, --input FILE       read URLs from FILE, one per line, # for comments; - for stdin
      --proxy URL        SOCKS5 proxy, e.g. socks5h://127.0.0.1:9050 for Tor (socks5h: names
                         are resolved by the proxy; socks5: locally, refused for .onion)
      --tor              start grab's own Tor (state in DIR/.grab/tor), stopped on exit
      --tor-path PATH    the tor binary (default: tor from PATH, /usr/sbin, /usr/bin)
      --tor-config FILE  extra torrc lines for --tor (bridges, a private network)
      --tor-instances N  tors to run; workers are spread over them (default 1)
  -w, --workers N        circuits: workers, each with its own Tor circuit (default 16)
      --streams N        requests in flight per circuit, for small files (default 4)
      --chunk-size SIZE  largest range one request asks for (default 16M); ranges are
                         sized to last about 20 s at each circuit's measured rate
      --stall-timeout D  cancel a request that moves no byte this long, and take a
                         new circuit (default 30s)
      --limit-rate RATE  cap the whole job, in bytes per second (e.g. 500k)
      --retries N        failures in a row without progress before a file is given up (default 10)
      --checksums FILE   SHA256SUMS / MD5SUMS style file to verify against
      --priority LIST    classes first, in this order, e.g. photos,documents (grab classes)
      --only LIST        fetch only these classes
      --include GLOB     fetch only paths matching GLOB (repeatable; * stays in a folder, ** crosses)
      --exclude GLOB     leave out paths matching GLOB (repeatable)
      --min-size SIZE    leave out files smaller than SIZE (e.g. 10k)
      --max-size SIZE    leave out files larger than SIZE (e.g. 2G)
      --order HOW        inside a class: size (smallest first, default), name or listing
      --depth N          folders to descend below a start URL (default 32)
      --class NAME=EXTS  add a class or replace its extensions, e.g. --class plates=jpg,tif
      --dry-run          crawl and print the plan; download nothing
  -v, --verbose          log every file and listing as it completes

Settings given once are saved with the job; give a flag again to change it
on resume (for example a different --priority re-orders what is pending).

examples:
  grab --tor --priority photos http://xxxx.onion/dump/
  grab --proxy socks5h://127.0.0.1:9050 --priority photos http://xxxx.onion/dump/
  grab http://xxxx.onion/dump/ -o case42 --proxy socks5h://127.0.0.1:9050 -w 32
  grab -o case42         # resume after a crash, a reboot or Ctrl-C
  grab -o case42 --priority documents,photos   # resume, documents first now
`

func runGet(ctx context.Context, ui *ui, args []string) error {
	var s settings
	fs := s.flags("grab")
	urls, err := fs.parse(args, usageGet)
	if err != nil {
		return err
	}
	for _, in := range s.Inputs {
		more, err := readURLList(in, ui.stdin)
		if err != nil {
			return err
		}
		urls = append(urls, more...)
	}
	if len(urls) == 0 && s.Output == "" {
		return &usageError{msg: "no URL given", hint: "grab [flags] URL...  or  grab -o DIR to resume (grab help)"}
	}
	targets, err := parseURLs(urls)
	if err != nil {
		return err
	}
	if s.Output == "" {
		s.Output = defaultOutput(targets[0])
	}
	_, err = get(ctx, ui, &s, fs.given(), targets, nil)
	return err
}

// readURLList reads a URL list: one per line, blank lines and # comments
// skipped; "-" is standard input.
func readURLList(name string, stdin io.Reader) ([]string, error) {
	r := stdin
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return nil, &usageError{msg: fmt.Sprintf("-i: %v", err)}
		}
		defer f.Close()
		r = f
	}
	var out []string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		out = append(out, line)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	return out, nil
}

// get runs a job: it opens or creates the job in s.Output, adds targets
// and fetches everything pending. prepare, if set, may adjust the engine
// configuration (the demo and benchmarks use it).
func get(ctx context.Context, ui *ui, cur *settings, given map[string]bool, targets []*url.URL, prepare func(*fetch.Config)) ([]fetch.File, error) {
	if err := cur.absPaths(); err != nil {
		return nil, err
	}
	if !store.Exists(cur.Output) {
		// Nothing is created before the command line is known to be good.
		j, err := cur.build()
		if err != nil {
			return nil, err
		}
		if err := j.checkHosts(targets); err != nil {
			return nil, err
		}
		if j.tor {
			if _, err := torPreflight(cur); err != nil {
				return nil, err
			}
		}
	}
	st, err := store.Open(cur.Output)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	rec, err := st.Job()
	switch {
	case errors.Is(err, store.ErrNoJob):
		if len(targets) == 0 {
			return nil, &usageError{msg: fmt.Sprintf("%s holds no grab job", cur.Output), hint: "give the URLs to fetch: grab -o " + cur.Output + " URL..."}
		}
		rec = store.Job{Created: time.Now().UTC()}
	case err != nil:
		return nil, err
	}
	s, err := cur.merge(rec.Settings, given)
	if err != nil {
		return nil, err
	}
	j, err := s.build()
	if err != nil {
		return nil, err
	}
	for _, t := range targets {
		if !containsString(rec.URLs, t.String()) {
			rec.URLs = append(rec.URLs, t.String())
		}
	}
	all, err := parseURLs(rec.URLs)
	if err != nil {
		return nil, err
	}
	if err := j.checkHosts(all); err != nil {
		return nil, err
	}
	if rec.Settings, err = jsonOf(s); err != nil {
		return nil, err
	}
	if err := st.SetJob(rec); err != nil {
		return nil, err
	}
	var sums *digest.Checksums
	if s.Checksums != "" {
		if sums, err = readChecksums(s.Checksums); err != nil {
			return nil, err
		}
	}

	log := newLogger(ui, s.Verbose)
	j.crawler.SetLog(log)
	// The source is chosen once the job's state is known: a job with
	// nothing left to fetch starts no tor.
	src := &lateSource{}
	cfg := fetch.Config{
		Dir: s.Output, Workers: s.Workers, Streams: s.Streams, ChunkSize: j.chunk, Retries: s.Retries,
		StallTimeout: j.stall, LimitRate: j.limit,
		Source: src, Journal: st, Log: log,
		Less: j.less, Expand: j.crawler.Expand, CrawlOnly: s.DryRun,
	}
	if prepare != nil {
		prepare(&cfg)
	}
	e, err := fetch.New(cfg)
	if err != nil {
		return nil, err
	}
	j.crawler.Restore(e.Files())
	start, err := j.crawler.Start(all)
	if err != nil {
		return nil, err
	}
	e.Add(start)
	var tr *torRun
	switch st := e.Status(); {
	case !j.tor:
		src.Source = &httpsrc.Source{Dialer: j.dialer}
	case st.Done+st.Failed < st.Files || st.ListingsDone < st.Listings:
		// Workers are spread over the tors: worker i uses tor i % N.
		if tr, err = startTor(ctx, ui, log, s); err != nil {
			return nil, err
		}
		defer tr.close()
		src.Source = &httpsrc.Source{Dialers: tr.dialers}
	default:
		src.Source = noSource{} // nothing to fetch, and no tor to fetch it through
	}
	if sums != nil {
		for _, f := range e.Files() {
			if want := sums.Lookup(f.Path); want != nil {
				e.Expect(f.URL, want)
			}
		}
		j.crawler.SetChecksums(sums)
	}

	began := time.Now()
	var extra func() string
	if tr != nil {
		extra = tr.status
	}
	p := startProgress(ui, e, j.order, extra)
	stopWatch := func() {}
	if tr != nil {
		stopWatch = tr.watch(ctx, e.Status)
	}
	err = e.Run(ctx)
	stopWatch()
	p.stop()
	if s.DryRun {
		if err == nil {
			err = printPlan(ui.stdout, e.Files(), false)
		}
		return e.Files(), err
	}
	if werr := writeManifest(s.Output, e.Files()); werr != nil && err == nil {
		err = werr
	}
	summarize(ui, e, time.Since(began))
	if tr != nil {
		if _, _, _, err := tr.circuits(ctx); err == nil {
			ui.printf("%s", tr.status())
		}
	}
	return e.Files(), err
}

// lateSource is a fetch.Source chosen after the engine is made, before it
// runs.
type lateSource struct{ fetch.Source }

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
		return nil, &hinted{err: fmt.Errorf("reading checksums: %w", err), hint: "--checksums takes a SHA256SUMS or MD5SUMS style file"}
	}
	defer f.Close()
	return digest.ParseChecksums(f)
}

// parseURLs checks the URLs a user gave.
func parseURLs(raw []string) ([]*url.URL, error) {
	var out []*url.URL
	for _, r := range raw {
		u, err := url.Parse(r)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, &usageError{msg: fmt.Sprintf("%q is not an http:// or https:// URL", r)}
		}
		u.Fragment, u.RawFragment = "", ""
		out = append(out, u)
	}
	return out, nil
}

// defaultOutput names the output folder after the first URL's host.
func defaultOutput(u *url.URL) string {
	name := u.Hostname()
	if p := u.Port(); p != "" {
		name += "_" + p
	}
	return strings.NewReplacer("/", "_", ":", "_").Replace(name)
}

// writeManifest lists every finished file with its SHA-256 in
// DIR/.grab/SHA256SUMS, in sha256sum's format, so the tree can be checked
// with `cd DIR && sha256sum -c .grab/SHA256SUMS`.
func writeManifest(dir string, files []fetch.File) error {
	var lines []string
	for _, f := range files {
		if f.State == fetch.Done && f.Kind == fetch.KindFile {
			lines = append(lines, f.SHA256+"  "+f.Path+"\n")
		}
	}
	sort.Slice(lines, func(i, j int) bool { return lines[i][66:] < lines[j][66:] })
	tmp := filepath.Join(dir, ".grab", "SHA256SUMS.tmp")
	if err := os.WriteFile(tmp, []byte(strings.Join(lines, "")), 0o644); err != nil {
		return fmt.Errorf("writing manifest: %w", err)
	}
	return os.Rename(tmp, filepath.Join(dir, ".grab", "SHA256SUMS"))
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
