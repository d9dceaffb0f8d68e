package crawl_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/grab-ir/grab/fetch"
	"github.com/grab-ir/grab/fetch/crawl"
	"github.com/grab-ir/grab/fetch/dial"
	"github.com/grab-ir/grab/fetch/digest"
	"github.com/grab-ir/grab/fetch/httpsrc"
	"github.com/grab-ir/grab/store"
)

// Links with a query are files of their own when they answer with one:
// named by the query's file name, or by Content-Disposition through the
// path mapper; a query link that answers with a web page is left out and
// counted. An answer that is not HTTP fails its file alone. A resume
// keeps every name and asks again only for what failed.
func TestQueryLinks(t *testing.T) {
	requests := &recorder{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.note(r.URL.RequestURI())
		q := r.URL.Query()
		switch {
		case r.URL.Path == "/dump/":
			w.Write([]byte(`<html><body><pre>
<a href="get.php?file=a.jpg">a</a> <a href="get.php?file=b.jpg">b</a> <a href="get.php?file=photos%2Fc.jpg">c</a>
<a href="get.php?file=d.jpg#top">d</a> <a href="get.php?file=..%2F..%2Fe.jpg">e</a>
<a href="dl.php?id=1">1</a> <a href="dl.php?id=2">2</a> <a href="dl.php?id=3">3</a> <a href="dl.php?id=4">4</a>
<a href="dl.php?id=5">5</a> <a href="dl.php?id=6">6</a>
<a href="index.php?page=2">next page</a> <a href="report.pdf?download=1">report</a> <a href="dl.php?id=7">7</a>
</pre></body></html>`))
		case r.URL.Path == "/dump/get.php":
			w.Header().Set("Content-Type", "image/jpeg")
			fmt.Fprintf(w, "photo %s", q.Get("file"))
		case r.URL.Path == "/dump/dl.php":
			names := map[string]string{
				"1": `attachment; filename="plates.csv"`,
				"2": `attachment; filename="plates.csv"`, // the same name again
				"3": `attachment; filename="../../../etc/cron.d/evil"`,
				"4": "attachment; filename*=UTF-8''%e2%82%ac%20rates.pdf",
				"5": "attachment; filename*=UTF-8''esc%1b%5b2J.txt",
				"7": `attachment; filename="raw` + "\x1b" + `.txt"`, // not HTTP: net/http refuses it
				"6": "",                                             // no name: the script's own, with its query
			}
			if cd := names[q.Get("id")]; cd != "" {
				w.Header().Set("Content-Disposition", cd)
			}
			w.Header().Set("Content-Type", "application/octet-stream")
			fmt.Fprintf(w, "download %s", q.Get("id"))
		case r.URL.Path == "/dump/index.php":
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Write([]byte("<html><body>page 2 of the site</body></html>"))
		case r.URL.Path == "/dump/report.pdf":
			w.Header().Set("Content-Type", "application/pdf")
			w.Write([]byte("the report"))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()

	out := t.TempDir()
	run := func() *fetch.Engine {
		t.Helper()
		st, err := store.Open(out)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		d, _ := dial.New("")
		c := crawl.New(crawl.Options{})
		// --checksums lists a file by the name its source gives it
		sums, err := digest.ParseChecksums(strings.NewReader(fmt.Sprintf("%x  € rates.pdf\n", sha256.Sum256([]byte("download 4")))))
		if err != nil {
			t.Fatal(err)
		}
		c.SetChecksums(sums)
		cfg := fetch.Config{Dir: out, Workers: 4, Streams: 1, CommitEvery: 20 * time.Millisecond,
			Source: &httpsrc.Source{Dialer: d}, Journal: st, Expand: c.Expand, Rename: c.Rename, Admit: c.Admit, Retries: 2,
			Backoff: fetch.Backoff{Base: time.Millisecond, Max: 2 * time.Millisecond}}
		e, err := fetch.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer e.Close()
		c.Restore(e.Files())
		u, _ := url.Parse(srv.URL + "/dump/")
		items, err := c.Start([]*url.URL{u})
		if err != nil {
			t.Fatal(err)
		}
		e.Add(items)
		ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
		defer cancel()
		if err := e.Run(ctx); !errors.Is(err, fetch.ErrFailed) || err.Error() != "some files failed: 1 of 15" {
			t.Fatalf("Run: %v, want dl.php?id=7 failed", err)
		}
		return e
	}
	e := run()
	want := map[string][]byte{
		"a.jpg":          []byte("photo a.jpg"),
		"b.jpg":          []byte("photo b.jpg"),
		"c.jpg":          []byte("photo photos/c.jpg"),
		"d.jpg":          []byte("photo d.jpg"),
		"e.jpg":          []byte("photo ../../e.jpg"),
		"plates.csv":     []byte("download 1"),
		"plates (2).csv": []byte("download 2"),
		"evil":           []byte("download 3"),
		"€ rates.pdf":    []byte("download 4"),
		"esc_[2J.txt":    []byte("download 5"),
		"dl.php?id=6":    []byte("download 6"),
		"report.pdf":     []byte("the report"),
	}
	got := tree(t, out)
	// The two answers named plates.csv: the first to answer keeps the name.
	if string(got["plates.csv"]) == "download 2" {
		want["plates.csv"], want["plates (2).csv"] = want["plates (2).csv"], want["plates.csv"]
	}
	checkSame(t, want, got)
	skipped := 0
	for _, f := range e.Files() {
		if f.Path == "€ rates.pdf" && f.Expect["sha256"] == "" {
			t.Errorf("%s: no digest from --checksums: %v", f.Path, f.Expect)
		}
		if f.State == fetch.Failed && (!strings.HasSuffix(f.URL, "/dump/dl.php?id=7") ||
			!strings.HasSuffix(f.Err, `/dump/dl.php?id=7: the server's answer is not valid HTTP: malformed MIME header line: "Content-Disposition: attachment; filename=\"raw\x1b.txt\""`)) {
			t.Errorf("failed %s: %s", f.URL, f.Err)
		}
		if f.State == fetch.Skipped {
			skipped++
			if f.Err != fetch.NotAFile || !strings.HasSuffix(f.URL, "/dump/index.php?page=2") {
				t.Errorf("skipped %s: %s", f.URL, f.Err)
			}
		}
	}
	if skipped != 1 {
		t.Errorf("%d skipped, want the page", skipped)
	}

	before := len(requests.seen())
	run()
	checkSame(t, want, tree(t, out)) // and the names kept
	for _, p := range requests.seen()[before:] {
		if p != "/dump/dl.php?id=7" { // a failure of the moment, tried again
			t.Errorf("the resume asked again for %q", p)
		}
	}
}

// A query that holds "/" still names a file; an entry no local name can
// be made for (a path too long) is a failed file, never dropped.
func TestQueryNamesAndUnnameable(t *testing.T) {
	long := strings.Repeat("d/", 2100) + "x.jpg" // past localpath.MaxPath once mapped
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/dump/":
			fmt.Fprintf(w, `<html><body><pre><a href="dl.php?path=docs/readme">r</a> <a href="%s">long</a></pre></body></html>`, long)
		case "/dump/dl.php":
			w.Header().Set("Content-Type", "text/plain")
			fmt.Fprintf(w, "file %s", r.URL.Query().Get("path"))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	out, e, err := crawlJob(t, srv.URL+"/dump/", crawl.Options{MaxDepth: 5000}, nil)
	if !errors.Is(err, fetch.ErrFailed) {
		t.Fatalf("Run: %v, want the unnameable file failed", err)
	}
	checkSame(t, map[string][]byte{"dl.php?path=docs%2Freadme": []byte("file docs/readme")}, tree(t, out))
	failed := 0
	for _, f := range e.Files() {
		if f.State == fetch.Failed {
			failed++
			if !strings.HasSuffix(f.URL, "/x.jpg") || !strings.HasPrefix(f.Err, "no local name for it: ") {
				t.Errorf("failed %s: %s", f.URL, f.Err)
			}
		}
	}
	if failed != 1 {
		t.Errorf("%d failed, want the long one", failed)
	}
}
