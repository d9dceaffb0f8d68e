package listing

import (
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fixtureTypes gives each testdata fixture the Content-Type its server sends.
var fixtureTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".json": "application/json",
	".js":   "application/javascript",
	".xml":  "text/xml",
}

func FuzzParse(f *testing.F) {
	names, err := filepath.Glob(filepath.Join("testdata", "*.*"))
	if err != nil || len(names) == 0 {
		f.Fatalf("no fixtures: %v", err)
	}
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(fixtureTypes[filepath.Ext(n)], b)
		f.Add("", b)
	}
	f.Add("text/html", []byte("<pre><a href=\"a\">a</a> 1/2/2026 3:04 PM &lt;dir&gt;<br><tr><td class=n><a href=x>"))
	f.Add("application/json", []byte(`/* callback */ cb([{"name":"a","size":1e99}]);`))
	f.Add("text/xml", []byte(`<list><file size="-1" mtime="x">a</file><other>b</other></list>`))
	base := mustURL(f, "http://dump.example.onion/dump/")
	lim := limits{entries: 1000, links: 4000, name: 4096}
	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		entries, format, err := parse(base, contentType, body, lim)
		if err != nil {
			if entries != nil {
				t.Fatalf("entries with error %v", err)
			}
			return
		}
		if format == "" {
			t.Fatal("empty format without error")
		}
		if len(entries) > lim.entries {
			t.Fatalf("%d entries over the limit", len(entries))
		}
		seen := make(map[string]bool)
		for _, e := range entries {
			u, err := url.Parse(e.URL)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				t.Fatalf("bad URL %q: %v", e.URL, err)
			}
			if u.String() != e.URL {
				t.Fatalf("URL %q reads back as %q", e.URL, u.String())
			}
			if e.Name != lastSegment(u.EscapedPath()) {
				t.Fatalf("Name %q for %s", e.Name, e.URL)
			}
			if e.Dir && (u.RawQuery != "" || u.ForceQuery) || u.Fragment != "" {
				t.Fatalf("URL %v keeps a folder's query or a fragment", u)
			}
			s := u.String()
			if seen[s] {
				t.Fatalf("duplicate %s", s)
			}
			seen[s] = true
			if e.Dir != strings.HasSuffix(u.EscapedPath(), "/") {
				t.Fatalf("Dir %t for %s", e.Dir, s)
			}
			if e.Size < -1 || e.Dir && e.Size != -1 || e.Approx && e.Size < 0 {
				t.Fatalf("bad size %d approx %t dir %t for %s", e.Size, e.Approx, e.Dir, s)
			}
			if !e.ModTime.IsZero() && e.ModTime.Location().String() != "UTC" {
				t.Fatalf("ModTime %v not UTC", e.ModTime)
			}
		}
	})
}

func FuzzParseSize(f *testing.F) {
	for _, s := range []string{"123456", "1.2M", "1.2 MB", "14K", "3.5G", "512 bytes", "-", "1,234", "0.0K", "7E", "9.9 GiB", "- \u00a0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		size, approx, ok := ParseSize(s)
		if !ok && (size != -1 || approx) {
			t.Fatalf("ParseSize(%q) = %d, %t, false", s, size, approx)
		}
		if ok && size < 0 {
			t.Fatalf("ParseSize(%q) = %d, ok", s, size)
		}
	})
}

// FuzzResolve checks the short way for plain hrefs against url.Parse and
// ResolveReference, on folders that take it.
func FuzzResolve(f *testing.F) {
	for _, h := range []string{"f0000001.jpg", "sub/", "a/b", "a//b", "./a", "../a", "..a", "a..", ".a/", "~x", "a/./b", "a/../b", "...", ".../", "%41", "a b", "A-Z_0.9~"} {
		f.Add("http://dump.example.onion/dump/", h, false)
		f.Add("https://u:p@h.example:8443/a%20b/c/", h, true)
	}
	f.Add("http://h/", "x", false)
	f.Add("http://h/%7e/", "x", false)
	f.Add("http://h/a;b/", "x/", true)
	f.Fuzz(func(t *testing.T, rawBase, href string, dir bool) {
		base, err := url.Parse(rawBase)
		if err != nil || !base.IsAbs() || base.Host == "" {
			return
		}
		c := newCollector(base, defaultLimits)
		if !c.plain || !plainHref(href) {
			return
		}
		fast, ok := c.resolve(href, dir)
		if !ok {
			t.Fatalf("plain %q not resolved", href)
		}
		c.plain = false
		slow, ok := c.resolve(href, dir)
		if !ok || slow != fast {
			t.Fatalf("base %q href %q dir %t: %q, url.Parse gives %q (%t)", rawBase, href, dir, fast, slow, ok)
		}
	})
}
