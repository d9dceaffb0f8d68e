package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/grab-ir/grab/fetch"
	"github.com/grab-ir/grab/fetch/class"
	"github.com/grab-ir/grab/fetch/dial"
	"github.com/grab-ir/grab/fetch/digest"
	"github.com/grab-ir/grab/fetch/httpsrc"
	"github.com/grab-ir/grab/fetch/localpath"
	"github.com/grab-ir/grab/store"
)

const usageGet = `grab: pull large dumps from slow, flaky sources (onion services) without losing a byte

usage: grab [flags] URL...        start or resume a job (flags may follow the URLs)
       grab -o DIR                resume the job in DIR
       grab demo [flags]          download from a built-in slow onion-like source
       grab bench [flags]         measure grab against the physical limit and other tools
       grab help | version

flags:
  -o, --output DIR       where files go (default: a folder named after the host);
                         grab's state lives in DIR/.grab
      --proxy URL        SOCKS5 proxy, e.g. socks5h://127.0.0.1:9050 for Tor (socks5h: names
                         are resolved by the proxy; socks5: locally, refused for .onion)
  -w, --workers N        parallel workers, each with its own circuit (default 16)
      --chunk-size SIZE  largest range one request asks for (default 4M)
      --retries N        failures in a row without progress before a file is given up (default 10)
      --checksums FILE   SHA256SUMS / MD5SUMS style file to verify against
  -v, --verbose          log every file as it completes

examples:
  grab --proxy socks5h://127.0.0.1:9050 http://xxxx.onion/dump/archive.7z
  grab http://xxxx.onion/dump/a.zip -o case42 --proxy socks5h://127.0.0.1:9050 -w 32
  grab -o case42         # resume after a crash, a reboot or Ctrl-C
`

// getOptions are the settings of a job. Those given on the command line
// are saved with the job and reused when it resumes.
type getOptions struct {
	output    string
	proxy     string
	workers   int
	chunk     string
	retries   int
	checksums string
	verbose   bool
}

func (o *getOptions) flags(name string) *flagSet {
	fs := newFlagSet(name)
	fs.StringVar(&o.output, "o", "", "")
	fs.StringVar(&o.output, "output", "", "")
	fs.StringVar(&o.proxy, "proxy", "", "")
	fs.IntVar(&o.workers, "w", 16, "")
	fs.IntVar(&o.workers, "workers", 16, "")
	fs.StringVar(&o.chunk, "chunk-size", "4M", "")
	fs.IntVar(&o.retries, "retries", 10, "")
	fs.StringVar(&o.checksums, "checksums", "", "")
	fs.BoolVar(&o.verbose, "v", false, "")
	fs.BoolVar(&o.verbose, "verbose", false, "")
	return &flagSet{fs}
}

// saved maps option names to their values as stored with the job.
func (o *getOptions) saved() map[string]string {
	return map[string]string{
		"proxy": o.proxy, "workers": strconv.Itoa(o.workers), "chunk-size": o.chunk,
		"retries": strconv.Itoa(o.retries), "checksums": o.checksums,
	}
}

// restore takes saved values for the options not given now.
func (o *getOptions) restore(saved map[string]string, given map[string]bool) {
	if !given["proxy"] {
		o.proxy = saved["proxy"]
	}
	if !given["workers"] && !given["w"] {
		if n, err := strconv.Atoi(saved["workers"]); err == nil {
			o.workers = n
		}
	}
	if !given["chunk-size"] && saved["chunk-size"] != "" {
		o.chunk = saved["chunk-size"]
	}
	if !given["retries"] {
		if n, err := strconv.Atoi(saved["retries"]); err == nil {
			o.retries = n
		}
	}
	if !given["checksums"] {
		o.checksums = saved["checksums"]
	}
}

func runGet(ctx context.Context, ui *ui, args []string) error {
	var o getOptions
	fs := o.flags("grab")
	urls, err := fs.parse(args, usageGet)
	if err != nil {
		return err
	}
	if len(urls) == 0 && o.output == "" {
		return &usageError{msg: "no URL given", hint: "grab [flags] URL...  or  grab -o DIR to resume (grab help)"}
	}
	targets, err := parseURLs(urls)
	if err != nil {
		return err
	}
	if o.output == "" {
		o.output = defaultOutput(targets[0])
	}
	_, err = get(ctx, ui, &o, fs.given(), targets, nil)
	return err
}

// get runs a job: it opens or creates the job in o.output, adds targets
// and fetches everything pending. prepare, if set, may adjust the engine
// configuration (the demo and benchmarks use it).
func get(ctx context.Context, ui *ui, o *getOptions, given map[string]bool, targets []*url.URL, prepare func(*fetch.Config)) ([]fetch.File, error) {
	if !store.Exists(o.output) {
		if err := o.validate(targets); err != nil {
			return nil, err
		}
	}
	st, err := store.Open(o.output)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	job, err := st.Job()
	switch {
	case errors.Is(err, store.ErrNoJob):
		if len(targets) == 0 {
			return nil, &usageError{msg: fmt.Sprintf("%s holds no grab job", o.output), hint: "give the URLs to fetch: grab -o " + o.output + " URL..."}
		}
		job = store.Job{Created: time.Now().UTC()}
	case err != nil:
		return nil, err
	default:
		o.restore(job.Options, given)
	}
	for _, t := range targets {
		if !containsString(job.URLs, t.String()) {
			job.URLs = append(job.URLs, t.String())
		}
	}
	all, err := parseURLs(job.URLs)
	if err != nil {
		return nil, err
	}
	if err := o.validate(all); err != nil {
		return nil, err
	}
	job.Options = o.saved()
	if err := st.SetJob(job); err != nil {
		return nil, err
	}

	chunk, err := class.ParseSize(o.chunk)
	if err != nil || chunk <= 0 {
		return nil, &usageError{msg: fmt.Sprintf("--chunk-size %q: want a size such as 4M", o.chunk)}
	}
	var sums *digest.Checksums
	if o.checksums != "" {
		f, err := os.Open(o.checksums)
		if err != nil {
			return nil, &hinted{err: fmt.Errorf("reading checksums: %w", err), hint: "--checksums takes a SHA256SUMS or MD5SUMS style file"}
		}
		sums, err = digest.ParseChecksums(f)
		f.Close()
		if err != nil {
			return nil, err
		}
	}
	d, err := dial.New(o.proxy)
	if err != nil {
		return nil, &usageError{msg: err.Error(), hint: "--proxy socks5h://127.0.0.1:9050"}
	}
	cfg := fetch.Config{
		Dir: o.output, Workers: o.workers, ChunkSize: chunk, Retries: o.retries,
		Source: &httpsrc.Source{Dialer: d}, Journal: st, Log: newLogger(ui, o.verbose),
	}
	if prepare != nil {
		prepare(&cfg)
	}
	e, err := fetch.New(cfg)
	if err != nil {
		return nil, err
	}
	files, err := plan(e.Files(), all, sums)
	if err != nil {
		return nil, err
	}
	e.Add(files)
	if sums != nil {
		for _, f := range e.Files() {
			if want := sums.Lookup(f.Path); want != nil {
				e.Expect(f.URL, want)
			}
		}
	}

	start := time.Now()
	p := startProgress(ui, e)
	err = e.Run(ctx)
	p.stop()
	if werr := writeManifest(o.output, e.Files()); werr != nil && err == nil {
		err = werr
	}
	summarize(ui, e, time.Since(start))
	return e.Files(), err
}

func (o *getOptions) validate(targets []*url.URL) error {
	d, err := dial.New(o.proxy)
	if err != nil {
		return &usageError{msg: err.Error(), hint: "--proxy socks5h://127.0.0.1:9050"}
	}
	for _, u := range targets {
		if err := d.Check(u); err != nil {
			return fmt.Errorf("%s: %w", u.Host, err)
		}
	}
	if o.workers < 1 || o.workers > 1024 {
		return &usageError{msg: fmt.Sprintf("--workers %d: want 1 to 1024", o.workers)}
	}
	return nil
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

// plan maps the job's URLs to files, keeping the local paths that files
// already known to the job have.
func plan(known []fetch.File, urls []*url.URL, sums *digest.Checksums) ([]fetch.File, error) {
	m := localpath.NewMapper(0)
	byURL := map[string]bool{}
	for _, f := range known {
		byURL[f.URL] = true
		if u, err := url.Parse(f.URL); err == nil {
			if segs, err := localpath.NewScope(u).Check(u); err == nil {
				m.Restore(localpath.Key(segs, false), f.Path)
			}
		}
	}
	var out []fetch.File
	for _, u := range urls {
		if byURL[u.String()] {
			continue
		}
		if strings.HasSuffix(u.Path, "/") || u.Path == "" {
			return nil, &usageError{msg: fmt.Sprintf("%s is a folder: crawling listings is not supported yet", u)}
		}
		segs, err := localpath.NewScope(u).Check(u)
		if err == nil {
			var p string
			if p, err = m.Map(segs, false); err == nil {
				out = append(out, fetch.File{URL: u.String(), Path: p, Size: -1, Expect: sums.Lookup(p)})
				continue
			}
		}
		return nil, fmt.Errorf("%s: %w", u, err)
	}
	return out, nil
}

// writeManifest lists every finished file with its SHA-256 in
// DIR/.grab/SHA256SUMS, in sha256sum's format, so the tree can be checked
// with `cd DIR && sha256sum -c .grab/SHA256SUMS`.
func writeManifest(dir string, files []fetch.File) error {
	var lines []string
	for _, f := range files {
		if f.State == fetch.Done {
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
