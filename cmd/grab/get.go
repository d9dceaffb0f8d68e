package main

import (
	"context"
	"os"
	"time"

	"github.com/grab-ir/grab/fetch/job"

	"github.com/grab-ir/grab/fetch"
)

const usageGet = `grab: pull large dumps from slow, flaky sources (onion services) without losing a byte

usage: grab [flags] URL...        start or resume a job (flags may follow the URLs)
       grab -o DIR                resume the job in DIR
       grab ls [-o DIR] [--json]  the plan: every file in fetch order, with class, size, state
       grab status [-o DIR] [--json] [--watch]  where a job stands, also from another terminal
       grab manifest [-o DIR] [--format F]  the evidence manifest (sha256sum, hashdeep, csv, json)
       grab verify [-o DIR]       re-hash the tree against the job and its manifest
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
      --max-wait D       give up on a source unreachable this long, e.g. 30m (default 0: wait)
  -k, --insecure         HTTPS: do not verify the server's certificate (as curl -k)
      --cacert FILE      HTTPS: trust the PEM certificates in FILE instead of the system's
  -A, --user-agent UA    User-Agent to send (default through a proxy or --tor: Tor Browser's;
                         directly: grab/0.1)
  -H, --header "N: V"    send this header too (repeatable); "N:" sends no N
  -b, --cookie FILE      send the cookies of FILE (cookies.txt, as exported from Tor Browser)
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
      --rsync-password-file FILE  password of rsync modules (first line of FILE; else
                         RSYNC_PASSWORD); the user comes from the URL: rsync://user@host/module/
      --dry-run          crawl and print the plan; download nothing
      --md5, --sha1      add MD5, SHA-1 of every file to the manifest (same pass as SHA-256)
  -v, --verbose          log every file and listing as it completes
  -q, --quiet            no progress and no summary: only warnings and errors
      --json             JSON-lines events on stdout: state, file_done, file_failed, class_done, progress
      --log FILE         keep the log in FILE (every message, with its time), also without -v

Settings given once are saved with the job; give a flag again to change it
on resume (for example a different --priority re-orders what is pending).

examples:
  grab --tor --priority photos http://xxxx.onion/dump/
  grab --proxy socks5h://127.0.0.1:9050 --priority photos http://xxxx.onion/dump/
  grab http://xxxx.onion/dump/ -o case42 --proxy socks5h://127.0.0.1:9050 -w 32
  grab --tor --priority photos rsync://xxxx.onion/leak/
  grab -o case42         # resume after a crash, a reboot or Ctrl-C
  grab -o case42 --priority documents,photos   # resume, documents first now
`

func runGet(ctx context.Context, ui *ui, args []string) error {
	var s job.Settings
	var df displayFlags
	fs := jobFlags(&s, "grab")
	df.bind(fs)
	s.RsyncPassword = os.Getenv("RSYNC_PASSWORD")
	urls, err := fs.parse(args, usageGet)
	if err != nil {
		return err
	}
	for _, in := range s.Inputs {
		more, err := job.ReadURLList(in, ui.stdin)
		if err != nil {
			return err
		}
		urls = append(urls, more...)
	}
	if len(urls) == 0 && s.Output == "" {
		return &job.UsageError{Msg: "no URL given", Hint: "grab [flags] URL...  or  grab -o DIR to resume (grab help)"}
	}
	targets, err := job.ParseURLs(urls)
	if err != nil {
		return err
	}
	_, err = get(ctx, ui, job.Options{Settings: s, Given: fs.given(), URLs: targets}, df)
	return err
}

// get runs a job with grab's progress display and summary, and returns
// its files.
func get(ctx context.Context, ui *ui, o job.Options, df displayFlags) ([]fetch.File, error) {
	d := newDisplay(ui, df)
	boot := &bootPrinter{u: d.ui, instances: o.Settings.TorCount, every: bootEvery}
	o.Log, o.LogFile = newLogger(d.ui, o.Settings.Verbose), df.log
	o.TorBoot = func(i, pct int, summary string) { boot.report(time.Now(), i, pct, summary) }
	o.Started, o.Finished = d.start, d.fileDone
	j, err := job.Open(ctx, o)
	if err != nil {
		d.stop()
		return nil, err
	}
	defer j.Close()
	if r := j.Resumed(); r != nil && !df.quiet {
		kept := "none"
		if r.Kept != "" {
			kept = r.Kept
		}
		d.ui.printf("resuming the job in %s: %d of %d files done; saved settings: %s", j.Settings().Output, r.Done, r.Files, kept)
	}
	err = j.Run(ctx)
	d.stop()
	if j.Settings().DryRun {
		if err == nil {
			err = printPlan(ui.stdout, j.Files(), false)
		}
		return j.Files(), err
	}
	if !df.quiet {
		summarize(d.ui, j)
		if tor := j.TorCircuits(ctx); tor != "" {
			d.ui.printf("%s", tor)
		}
	}
	// Closing makes the manifest durable: its error matters.
	if cerr := j.Close(); err == nil {
		err = cerr
	}
	return j.Files(), err
}
