package crawl_test

import (
	"bytes"
	"context"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/grab-ir/grab/fetch"
	"github.com/grab-ir/grab/fetch/class"
	"github.com/grab-ir/grab/fetch/crawl"
	"github.com/grab-ir/grab/fetch/dial"
	"github.com/grab-ir/grab/fetch/fetchtest"
	"github.com/grab-ir/grab/fetch/httpsrc"
	"github.com/grab-ir/grab/store"
)

// awkwardTree writes files with names that break naive tools.
func awkwardTree(t *testing.T) string {
	root := t.TempDir()
	files := map[string][]byte{
		"plain.txt":                    []byte("plain"),
		"with space.jpg":               fetchtest.Data("1", 70000),
		"100% sure.pdf":                []byte("percent"),
		"hash#tag.jpg":                 []byte("hash"),
		"what?.doc":                    []byte("question"),
		"a&b=c.txt":                    []byte("amp"),
		`quote"d 'single'.txt`:         []byte("quotes"),
		"ünïcödé ファイル.jpg":             []byte("utf8"),
		"tab\there.txt":                []byte("tab"),
		"[brackets] (1) {x}.tif":       []byte("brackets"),
		"empty":                        nil,
		"deep/er/and/deeper/still.jpg": fetchtest.Data("2", 300000),
		"sub dir/inner file.zip":       fetchtest.Data("3", 1<<20+17),
	}
	for name, data := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// tree is fetchtest.Tree.
func tree(t *testing.T, dir string) map[string][]byte { return fetchtest.Tree(t, dir) }

func keys(m map[string][]byte) []string {
	var k []string
	for s := range m {
		k = append(k, s)
	}
	sort.Strings(k)
	return k
}

// crawlJob runs a whole crawl and download of start into a new folder.
func crawlJob(t *testing.T, start string, o crawl.Options, tweak func(*fetch.Config)) (string, *fetch.Engine, error) {
	t.Helper()
	out := t.TempDir()
	st, err := store.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	d, _ := dial.New("")
	c := crawl.New(o)
	cfg := fetch.Config{Dir: out, Workers: 4, Streams: 1, BlockSize: 64 << 10, ChunkSize: 256 << 10, FirstChunk: 256 << 10, CommitEvery: 20 * time.Millisecond,
		Source: &httpsrc.Source{Dialer: d}, Journal: st, Expand: c.Expand, Rename: c.Rename, Retries: 2,
		Backoff: fetch.Backoff{Base: time.Millisecond, Max: 2 * time.Millisecond}}
	if tweak != nil {
		tweak(&cfg)
	}
	e, err := fetch.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(start)
	items, err := c.Start([]*url.URL{u})
	if err != nil {
		t.Fatal(err)
	}
	e.Add(items)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	return out, e, e.Run(ctx)
}

func checkSame(t *testing.T, want, got map[string][]byte) {
	t.Helper()
	if strings.Join(keys(got), "\n") != strings.Join(keys(want), "\n") {
		t.Fatalf("files:\n%s\nwant:\n%s", strings.Join(keys(got), "\n"), strings.Join(keys(want), "\n"))
	}
	for k, v := range want {
		if !bytes.Equal(got[k], v) {
			t.Errorf("%q: %d bytes differ from the %d served", k, len(got[k]), len(v))
		}
	}
}

// Real nginx autoindex in each of its formats, and Python's http.server
// (which ignores Range), give the awkward tree back byte-identical.
func TestRealServersAwkwardTree(t *testing.T) {
	root := awkwardTree(t)
	want := tree(t, root)
	for _, c := range []struct{ name, base string }{
		{"nginx-html", fetchtest.Nginx(t, root, "html", "", "")},
		{"nginx-json", fetchtest.Nginx(t, root, "json", "", "")},
		{"nginx-xml", fetchtest.Nginx(t, root, "xml", "", "")},
		{"python", fetchtest.Python(t, root)},
	} {
		t.Run(c.name, func(t *testing.T) {
			out, e, err := crawlJob(t, c.base, crawl.Options{}, nil)
			if err != nil {
				t.Fatal(err)
			}
			checkSame(t, want, tree(t, out))
			if st := e.Status(); st.Listings != 6 || st.ListingsDone != 6 {
				t.Errorf("listings %d/%d, want 6 (root, sub dir and 4 deep ones)", st.ListingsDone, st.Listings)
			}
		})
	}
}

// A start URL below the server root: files land relative to it.
func TestStartBelowRoot(t *testing.T) {
	root := awkwardTree(t)
	base := fetchtest.Nginx(t, root, "html", "", "")
	out, _, err := crawlJob(t, base+"sub%20dir/", crawl.Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]byte{"inner file.zip": tree(t, root)["sub dir/inner file.zip"]}
	checkSame(t, want, tree(t, out))
}

func TestFiltersAndDepth(t *testing.T) {
	root := awkwardTree(t)
	base := fetchtest.Nginx(t, root, "html", "", "")
	set, _ := class.NewSet(nil)
	only, _ := set.ParseOnly("photos")
	out, _, err := crawlJob(t, base, crawl.Options{Classes: set, Only: only, MaxDepth: 3,
		Filter: class.Filter{Exclude: []string{"hash*"}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	all := tree(t, root)
	want := map[string][]byte{}
	for _, k := range []string{"with space.jpg", "ünïcödé ファイル.jpg", "[brackets] (1) {x}.tif"} {
		want[k] = all[k]
	}
	checkSame(t, want, tree(t, out)) // deep/er/and/deeper/still.jpg is 4 folders down
}
