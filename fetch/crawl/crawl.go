package crawl

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"path"
	"strings"

	"github.com/grab-ir/grab/fetch"
	"github.com/grab-ir/grab/fetch/class"
	"github.com/grab-ir/grab/fetch/digest"
	"github.com/grab-ir/grab/fetch/listing"
	"github.com/grab-ir/grab/fetch/localpath"
	"github.com/grab-ir/grab/fetch/source"
)

// StartOnly in Options.MaxDepth reads the start listings and enters none
// of their folders.
const StartOnly = -1

// Crawler expands listings into files. It is safe for concurrent use.
type Crawler struct {
	classes  *class.Set
	filter   class.Filter
	only     map[string]bool // nil: every class
	maxDepth int
	log      *slog.Logger
	mapper   *localpath.Mapper
	sums     *digest.Checksums
}

// SetChecksums makes files found from now on expect the digests listed.
func (c *Crawler) SetChecksums(s *digest.Checksums) { c.sums = s }

// Options configure a Crawler.
type Options struct {
	Classes  *class.Set
	Filter   class.Filter
	Only     map[string]bool
	MaxDepth int // folders to descend below a start URL: 32 if zero; StartOnly: none
	Log      *slog.Logger
}

// New makes a Crawler.
func New(o Options) *Crawler {
	switch {
	case o.MaxDepth == 0:
		o.MaxDepth = 32
	case o.MaxDepth < 0:
		o.MaxDepth = 0
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Classes == nil {
		o.Classes, _ = class.NewSet(nil)
	}
	return &Crawler{classes: o.Classes, filter: o.Filter, only: o.Only, maxDepth: o.MaxDepth, log: o.Log, mapper: localpath.NewMapper(0)}
}

// rootOf is the start URL an item was found under.
func rootOf(f *fetch.File) string {
	if f.Root != "" {
		return f.Root
	}
	return f.URL
}

// Restore registers the local paths of items a job already has, so that
// new names never collide with them: the files' first, then the folders
// found, which take their names again as when they were found.
func (c *Crawler) Restore(known []fetch.File) {
	segsOf := func(f *fetch.File) (*url.URL, *url.URL, []string, bool) {
		root, err := url.Parse(rootOf(f))
		if err != nil {
			return nil, nil, nil, false
		}
		u, err := url.Parse(f.URL)
		if err != nil {
			return nil, nil, nil, false
		}
		segs, err := c.scope(root).Check(u)
		return root, u, segs, err == nil
	}
	for _, f := range known {
		if f.Kind != fetch.KindFile || f.Path == "" {
			continue
		}
		if root, u, segs, ok := segsOf(&f); ok {
			c.mapper.Restore(fileKey(root.String(), segs, u.RawQuery), f.Path)
		}
	}
	for _, f := range known {
		if f.Kind != fetch.KindListing || f.Root == "" || f.State == fetch.Skipped {
			continue
		}
		if _, _, segs, ok := segsOf(&f); ok && len(segs) > 0 {
			c.mapper.Map(segs, true)
		}
	}
}

// Start turns start URLs into items.
func (c *Crawler) Start(urls []*url.URL) ([]fetch.File, error) {
	var out []fetch.File
	for _, u := range urls {
		scope := c.scope(u)
		if strings.HasSuffix(u.Path, "/") || u.Path == "" {
			out = append(out, fetch.File{Kind: fetch.KindListing, URL: scope.URL(nil, true), Size: -1, Estimate: -1})
			continue
		}
		segs, err := scope.Check(u)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", u, err)
		}
		p, err := c.mapFile(u.String(), segs, u.RawQuery)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", u, err)
		}
		out = append(out, fetch.File{URL: u.String(), Path: p, Size: -1, Estimate: -1, Class: c.classes.Classify(path.Base(p))})
	}
	return out, nil
}

// Expand implements fetch.Config.Expand.
func (c *Crawler) Expand(l fetch.File, found *fetch.Listing) ([]fetch.File, error) {
	root, err := url.Parse(rootOf(&l))
	if err != nil {
		return nil, err
	}
	scope := c.scope(root)
	base, err := url.Parse(found.URL)
	if err != nil {
		return nil, fmt.Errorf("listing URL %q: %w", found.URL, err)
	}
	if _, err := scope.Check(base); err != nil {
		return nil, fmt.Errorf("listing %s was redirected out of the crawl: %w", l.URL, err)
	}
	var out []fetch.File
	if len(found.Entries) > 0 {
		out = make([]fetch.File, 0, len(found.Entries)) // not twice as many: a million File are 176 MB
	}
	rootURL := root.String()
	if rootURL == rootOf(&l) {
		rootURL = rootOf(&l) // one string for every item of the crawl, not one each
	}
	for _, e := range found.Entries {
		if f, ok := c.entry(scope, rootURL, e); ok {
			out = append(out, f)
		}
	}
	return out, nil
}

// entry makes an item of one listing entry, or logs why not. An entry a
// filter leaves out is an item too, Skipped, so that a resume with wider
// filters fetches it without reading the listing again.
func (c *Crawler) entry(scope localpath.Scope, root string, e listing.Entry) (fetch.File, bool) {
	skip := func(why any) (fetch.File, bool) {
		c.log.Warn("skipped", "url", e.URL, "why", why)
		return fetch.File{}, false
	}
	u, err := url.Parse(e.URL)
	if err != nil {
		return skip(err)
	}
	segs, err := scope.Check(u)
	if errors.Is(err, localpath.ErrBadSegment) {
		// Below the folder, named as no file may be asked for (a "..", a
		// slash in a name: the server would take it as a path): a file of
		// the dump that cannot be had, so failed, shown, never fetched.
		f := fetch.File{URL: u.String(), Root: root, Size: -1, Estimate: -1, State: fetch.Failed, Err: "an unsafe name: " + err.Error()}
		if e.Dir {
			f.Kind = fetch.KindListing
		}
		return f, true
	}
	if err != nil {
		return skip(err)
	}
	if len(segs) == 0 {
		return fetch.File{}, false // the listing itself, or its root
	}
	var f fetch.File
	if e.Dir {
		f = fetch.File{Kind: fetch.KindListing, URL: scope.URL(segs, true), Root: root, Depth: len(segs), Size: -1, Estimate: -1}
		// Its local name is taken now, not when its listing is read: a
		// file named by its source meanwhile (Content-Disposition) must
		// not take it. (Too long a path fails each of its files instead.)
		c.mapper.Map(segs, true)
	} else {
		size, estimate := int64(-1), e.Size
		if e.Size > fetch.MaxFileSize {
			// No file is that large: the listing lies, the file will tell.
			c.log.Info("listing size ignored", "path", strings.Join(segs, "/"), "size", e.Size)
			estimate = -1
		} else if !e.Approx && e.Size >= 0 {
			size = e.Size
		}
		canon := scope.URL(segs, false)
		if u.RawQuery != "" {
			canon += "?" + u.RawQuery
		}
		if canon == e.URL {
			canon = e.URL // one string for the listing's text and the item (and its Path's bytes, see Mapper)
		}
		local, err := c.mapFile(root, segs, u.RawQuery)
		if err != nil {
			// A file of the dump that cannot be named here (a path too
			// long): missing, so failed, never dropped in silence.
			return fetch.File{URL: canon, Root: root, Depth: len(segs) - 1, Size: -1, Estimate: e.Size,
				State: fetch.Failed, Err: "no local name for it: " + err.Error()}, true
		}
		f = fetch.File{URL: canon, Root: root, Depth: len(segs) - 1, Path: local,
			Class: c.classes.Classify(path.Base(local)), Size: size, Estimate: estimate, Expect: c.sums.Lookup(local)}
	}
	if ok, why := c.admit(&f, strings.Join(segs, "/")); !ok {
		c.log.Info("left out", "path", strings.Join(segs, "/"), "why", why)
		f.State, f.Err = fetch.Skipped, why
	}
	return f, true
}

// fileKey is the mapper's key of a file found under root at segs, reached
// by query ("" for none).
func fileKey(root string, segs []string, query string) string {
	if query == "" {
		return localpath.OwnedKey(root, segs)
	}
	return localpath.QueryKey(root, segs, query)
}

// mapFile gives a file found under root at segs, reached by query, its
// local path.
func (c *Crawler) mapFile(root string, segs []string, query string) (string, error) {
	if query == "" {
		return c.mapper.MapOwned(root, segs)
	}
	return c.mapper.MapAs(localpath.QueryKey(root, segs, query), segs, queryName(segs[len(segs)-1], query))
}

// scripts are the extensions of names that are programs answering a
// query rather than files (get.php?id=5).
var scripts = map[string]bool{"": true, ".php": true, ".asp": true, ".aspx": true, ".jsp": true, ".cgi": true,
	".pl": true, ".py": true, ".cfm": true, ".do": true, ".action": true}

// queryName is the local name of a file reached by a query, until its
// source gives one (fetch.Config.Rename): the last query value that is a
// file name (get.php?file=photos/a.jpg: "a.jpg"); else the path's own name
// where it names a file (ok.pdf?download=1: "ok.pdf"); else the script's
// name with its query ("get.php?id=5"), so that each query has a name of
// its own. The Mapper makes whichever it is safe and unique.
func queryName(last, query string) string {
	name := ""
	for _, kv := range strings.Split(query, "&") {
		_, v, _ := strings.Cut(kv, "=")
		v, err := url.QueryUnescape(v)
		if err != nil {
			continue
		}
		if b := path.Base(strings.ReplaceAll(v, "\\", "/")); fileName(b) {
			name = b
		}
	}
	switch {
	case name != "":
		return name
	case !scripts[strings.ToLower(path.Ext(last))]:
		return last
	}
	return last + "?" + strings.ReplaceAll(query, "/", "%2F") // a query may hold "/", a name not
}

// fileName reports whether a query value's last element looks like a
// file's name: a stem and an extension of 1 to 8 letters or digits.
func fileName(b string) bool {
	ext := path.Ext(b)
	if len(ext) < 2 || len(ext) > 9 || len(b) == len(ext) || strings.ContainsAny(b, "\x00/") {
		return false
	}
	for _, r := range ext[1:] {
		if !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9') {
			return false
		}
	}
	return true
}

// Rename implements fetch.Config.Rename: the file is given the name its
// source sent (Content-Disposition), in the folder it was to land in, and
// the digests --checksums lists for that name.
func (c *Crawler) Rename(f *fetch.File, name string) (string, error) {
	root, err := url.Parse(rootOf(f))
	if err != nil {
		return "", err
	}
	u, err := url.Parse(f.URL)
	if err != nil {
		return "", err
	}
	segs, err := c.scope(root).Check(u)
	if err != nil {
		return "", err
	}
	if len(segs) == 0 {
		return "", fmt.Errorf("%s: no name to replace", f.URL)
	}
	p, err := c.mapper.Rename(fileKey(root.String(), segs, u.RawQuery), segs, name)
	if err != nil {
		return "", err
	}
	for alg, v := range c.sums.Lookup(f.Path) { // listed by the name it had: another file's
		if f.Expect[alg] == v {
			delete(f.Expect, alg)
		}
	}
	for alg, v := range c.sums.Lookup(p) { // --checksums lists it by this name
		if f.Expect == nil {
			f.Expect = digest.Set{}
		}
		f.Expect[alg] = v
	}
	return p, nil
}

// Admit implements fetch.Config.Admit: whether an item the crawl found is
// wanted under the filters as they are now. Start URLs always are.
func (c *Crawler) Admit(f *fetch.File) (bool, string) {
	if f.State == fetch.Skipped && f.Err == fetch.NotAFile {
		return false, f.Err // no filter made it so
	}
	if f.Root == "" {
		return true, ""
	}
	root, err := url.Parse(f.Root)
	if err != nil {
		return true, ""
	}
	u, err := url.Parse(f.URL)
	if err != nil {
		return true, ""
	}
	segs, err := c.scope(root).Check(u)
	if err != nil {
		return true, "" // not the crawl's to judge
	}
	return c.admit(f, strings.Join(segs, "/"))
}

// admit applies the filters to an item at rel, its path below its start
// URL.
func (c *Crawler) admit(f *fetch.File, rel string) (bool, string) {
	if f.Kind == fetch.KindListing {
		if f.Depth > c.maxDepth {
			return false, fmt.Sprintf("deeper than --depth %d", c.maxDepth)
		}
		return true, ""
	}
	// A recursive listing (rsync's file list) names files several
	// folders down at once: the same bound as the folders they are in.
	if f.Depth > c.maxDepth {
		return false, fmt.Sprintf("deeper than --depth %d", c.maxDepth)
	}
	if ok, why := c.filter.Match(rel, f.Size); !ok {
		return false, why
	}
	if c.only != nil && !c.only[f.Class] {
		return false, "class " + f.Class + " is not in --only"
	}
	return true, ""
}

// scope is the crawl scope of a start URL.
func (c *Crawler) scope(root *url.URL) localpath.Scope {
	sc := localpath.NewScope(root, source.DefaultPort(root.Scheme))
	if s, _ := source.Lookup(root.Scheme); s.User && root.User != nil {
		sc = sc.WithUser(root.User.Username())
	}
	return sc
}

// SetLog sets where skipped entries are reported.
func (c *Crawler) SetLog(l *slog.Logger) { c.log = l }
