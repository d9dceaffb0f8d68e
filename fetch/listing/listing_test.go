package listing

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const dumpBase = "http://dump.example.onion/dump/"

func mustURL(t testing.TB, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// render renders an entry as one comparable line.
func render(e Entry) string {
	mod := "-"
	if !e.ModTime.IsZero() {
		mod = e.ModTime.Format(time.RFC3339Nano)
		if e.ModTime.Location() != time.UTC {
			mod += " (not UTC)"
		}
	}
	return fmt.Sprintf("%s | %q | dir=%t | size=%d approx=%t | %s", e.URL, e.Name, e.Dir, e.Size, e.Approx, mod)
}

func want(url, name string, dir bool, size int64, approx bool, mod string) string {
	if mod == "" {
		mod = "-"
	}
	return fmt.Sprintf("%s | %q | dir=%t | size=%d approx=%t | %s", url, name, dir, size, approx, mod)
}

func checkEntries(t *testing.T, got []Entry, wantRows []string) {
	t.Helper()
	var gotRows []string
	for _, e := range got {
		gotRows = append(gotRows, render(e))
	}
	if strings.Join(gotRows, "\n") != strings.Join(wantRows, "\n") {
		t.Errorf("entries:\n got:\n  %s\nwant:\n  %s", strings.Join(gotRows, "\n  "), strings.Join(wantRows, "\n  "))
	}
}

const (
	longName = "this-is-a-very-long-file-name-that-nginx-truncates-in-the-listing.bin"
	d        = dumpBase
)

func TestParseFormats(t *testing.T) {
	tests := []struct {
		fixture     string
		contentType string
		base        string
		format      Format
		want        []string
	}{
		{"nginx_exact.html", "text/html", d, FormatNginxHTML, []string{
			want(d+"sub/", "sub", true, -1, false, "2026-11-23T10:00:00Z"),
			want(d+"%3Ctag%3E.txt", "<tag>.txt", false, 977, false, "2026-11-23T10:05:00Z"),
			want(d+"a%20b.txt", "a b.txt", false, 12345, false, "2026-11-23T10:01:00Z"),
			want(d+"c%231.txt", "c#1.txt", false, 0, false, "2026-11-23T10:02:00Z"),
			want(d+"q%3F.txt", "q?.txt", false, 1258291, false, "2026-11-23T10:03:00Z"),
			want(d+longName, longName, false, 3221225472, false, "2025-01-02T03:04:00Z"),
			want(d+"x%26y%3Az.txt", "x&y:z.txt", false, 10000, false, "2026-11-23T10:06:00Z"),
			want(d+"%D1%84%D0%BE%D1%82%D0%BE.jpg", "фото.jpg", false, 5000000, false, "2026-11-24T23:59:00Z"),
		}},
		{"nginx_approx.html", "text/html; charset=utf-8", d, FormatNginxHTML, []string{
			want(d+"sub/", "sub", true, -1, false, "2026-11-23T10:00:00Z"),
			want(d+"%3Ctag%3E.txt", "<tag>.txt", false, 977, false, "2026-11-23T10:05:00Z"),
			want(d+"a%20b.txt", "a b.txt", false, 12288, true, "2026-11-23T10:01:00Z"),
			want(d+"c%231.txt", "c#1.txt", false, 0, false, "2026-11-23T10:02:00Z"),
			want(d+"q%3F.txt", "q?.txt", false, 1048576, true, "2026-11-23T10:03:00Z"),
			want(d+longName, longName, false, 3221225472, true, "2025-01-02T03:04:00Z"),
			want(d+"x%26y%3Az.txt", "x&y:z.txt", false, 10240, true, "2026-11-23T10:06:00Z"),
			want(d+"%D1%84%D0%BE%D1%82%D0%BE.jpg", "фото.jpg", false, 5242880, true, "2026-11-24T23:59:00Z"),
		}},
		{"nginx.json", "application/json", d, FormatNginxJSON, nginxStructured},
		{"nginx_jsonp.js", "application/javascript; charset=utf-8", d, FormatNginxJSON, nginxStructured},
		{"nginx.json", "", d, FormatNginxJSON, nginxStructured},
		{"nginx.xml", "text/xml", d, FormatNginxXML, nginxStructured},
		{"nginx.xml", "", d, FormatNginxXML, nginxStructured},
		{"apache_plain.html", "text/html;charset=UTF-8", d, FormatApache, []string{
			want(d+"%3ctag%3e.txt", "<tag>.txt", false, -1, false, ""),
			want(d+"a%20b.txt", "a b.txt", false, -1, false, ""),
			want(d+"c%231.txt", "c#1.txt", false, -1, false, ""),
			want(d+"q%3f.txt", "q?.txt", false, -1, false, ""),
			want(d+"sub/", "sub", true, -1, false, ""),
			want(d+longName, longName, false, -1, false, ""),
			want(d+"x&y:z.txt", "x&y:z.txt", false, -1, false, ""),
			want(d+"%d1%84%d0%be%d1%82%d0%be.jpg", "фото.jpg", false, -1, false, ""),
		}},
		{"apache_fancy.html", "text/html;charset=UTF-8", d, FormatApacheFancy, apacheFancy},
		{"apache_table.html", "text/html;charset=UTF-8", d, FormatApacheFancy, apacheFancy},
		{"lighttpd.html", "text/html; charset=utf-8", d, FormatLighttpd, []string{
			want(d+"sub/", "sub", true, -1, false, "2026-11-23T10:00:00Z"),
			want(d+"%3Ctag%3E.txt", "<tag>.txt", false, 922, true, "2026-11-23T10:05:00Z"),
			want(d+"a%20b.txt", "a b.txt", false, 12288, true, "2026-11-23T10:01:05Z"),
			want(d+"c%231.txt", "c#1.txt", false, 0, true, "2026-11-23T10:02:00Z"),
			want(d+"q%3F.txt", "q?.txt", false, 1258291, true, "2026-11-23T10:03:00Z"),
			want(d+longName, longName, false, 3221225472, true, "2025-01-02T03:04:00Z"),
			want(d+"x%26y%3Az.txt", "x&y:z.txt", false, 9933, true, "2026-11-23T10:06:00Z"),
			want(d+"%D1%84%D0%BE%D1%82%D0%BE.jpg", "фото.jpg", false, 4928307, true, "2026-11-24T23:59:00Z"),
		}},
		{"python.html", "text/html; charset=utf-8", d, FormatPython, []string{
			want(d+"%3Ctag%3E.txt", "<tag>.txt", false, -1, false, ""),
			want(d+"a%20b.txt", "a b.txt", false, -1, false, ""),
			want(d+"c%231.txt", "c#1.txt", false, -1, false, ""),
			want(d+"link", "link", false, -1, false, ""),
			want(d+"q%3F.txt", "q?.txt", false, -1, false, ""),
			want(d+"sub/", "sub", true, -1, false, ""),
			want(d+longName, longName, false, -1, false, ""),
			want(d+"x%26y%3Az.txt", "x&y:z.txt", false, -1, false, ""),
			want(d+"%D1%84%D0%BE%D1%82%D0%BE.jpg", "фото.jpg", false, -1, false, ""),
		}},
		{"caddy.html", "text/html; charset=utf-8", d, FormatCaddy, []string{
			want(d+"sub/", "sub", true, -1, false, "2026-11-23T10:00:00Z"),
			want(d+"a%20b.txt", "a b.txt", false, 12345, false, "2026-11-23T10:01:05Z"),
			want(d+"x&y:z.txt", "x&y:z.txt", false, 10000, false, "2026-11-23T10:06:00Z"),
			want(d+"%D1%84%D0%BE%D1%82%D0%BE.jpg", "фото.jpg", false, 5000000, false, "2026-11-24T23:59:00Z"),
		}},
		{"caddy_old.html", "text/html; charset=utf-8", d, FormatCaddy, []string{
			want(d+"sub/", "sub", true, -1, false, "2026-11-23T10:00:00Z"),
			want(d+"a%20b.txt", "a b.txt", false, 12345, false, "2026-11-23T10:01:05Z"),
		}},
		{"caddy.json", "application/json", d, FormatCaddy, []string{
			want(d+"sub/", "sub", true, -1, false, "2026-11-23T10:00:00Z"),
			want(d+"a%20b.txt", "a b.txt", false, 12345, false, "2026-11-23T10:01:05.123456789Z"),
			want(d+"x&y:z.txt", "x&y:z.txt", false, 10000, false, "2026-11-23T10:06:00Z"),
			want(d+"%D1%84%D0%BE%D1%82%D0%BE.jpg", "фото.jpg", false, 5000000, false, "2026-11-24T23:59:00Z"),
		}},
		{"iis.html", "text/html; charset=UTF-8", d, FormatIIS, []string{
			want(d+"%3Ctag%3E.txt", "<tag>.txt", false, 977, false, "2026-11-23T10:05:00Z"),
			want(d+"a%20b.txt", "a b.txt", false, 12345, false, "2026-11-23T10:01:00Z"),
			want(d+"c%231.txt", "c#1.txt", false, 0, false, "2026-11-23T10:02:00Z"),
			want(d+"q%3F.txt", "q?.txt", false, 1258291, false, "2026-11-23T10:03:00Z"),
			want(d+"sub/", "sub", true, -1, false, "2026-11-23T10:00:00Z"),
			want(d+longName, longName, false, 3221225472, false, "2025-01-02T03:04:00Z"),
			want(d+"x%26y%3Az.txt", "x&y:z.txt", false, 10000, false, "2026-11-23T10:06:00Z"),
			want(d+"%D1%84%D0%BE%D1%82%D0%BE.jpg", "фото.jpg", false, 5000000, false, "2026-11-24T23:59:00Z"),
		}},
		{"generic.html", "text/html", "http://dump.example.onion/leaks/dump/", FormatGeneric, []string{
			want("http://dump.example.onion/leaks/dump/Report%20Q3.pdf", "Report Q3.pdf", false, -1, false, ""),
			want("http://dump.example.onion/leaks/dump/notes.txt", "notes.txt", false, -1, false, ""),
			want("http://dump.example.onion/leaks/dump/data.csv?download=1", "data.csv", false, -1, false, ""),
			want("http://dump.example.onion/leaks/dump/photos/", "photos", true, -1, false, ""),
			want("http://dump.example.onion/dump/photos/", "photos", true, -1, false, ""),
			want("http://dump.example.onion/other/thing.zip", "thing.zip", false, -1, false, ""),
			want("http://mirror.example.onion/dump/big.tar", "big.tar", false, -1, false, ""),
			want("http://dump.example.onion/leaks/dump/tom&jerry.mkv", "tom&jerry.mkv", false, -1, false, ""),
			want("http://dump.example.onion/leaks/dump/hash%23tag%3Fq.txt", "hash#tag?q.txt", false, -1, false, ""),
			want("http://dump.example.onion/leaks/dump/spaced.txt", "spaced.txt", false, -1, false, ""),
			want("http://dump.example.onion/", "", true, -1, false, ""),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.fixture+"/"+tt.contentType, func(t *testing.T) {
			got, f, err := Parse(mustURL(t, tt.base), tt.contentType, readFixture(t, tt.fixture))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if f != tt.format {
				t.Errorf("format = %q, want %q", f, tt.format)
			}
			checkEntries(t, got, tt.want)
		})
	}
}

// nginxStructured is what nginx's json, jsonp and xml formats give: exact
// sizes, times to the second, and hrefs built from the names.
var nginxStructured = []string{
	want(d+"sub/", "sub", true, -1, false, "2026-11-23T10:00:00Z"),
	want(d+"%3Ctag%3E.txt", "<tag>.txt", false, 977, false, "2026-11-23T10:05:00Z"),
	want(d+"a%20b.txt", "a b.txt", false, 12345, false, "2026-11-23T10:01:05Z"),
	want(d+"c%231.txt", "c#1.txt", false, 0, false, "2026-11-23T10:02:00Z"),
	want(d+"q%3F.txt", "q?.txt", false, 1258291, false, "2026-11-23T10:03:00Z"),
	want(d+longName, longName, false, 3221225472, false, "2025-01-02T03:04:00Z"),
	want(d+"x&y:z.txt", "x&y:z.txt", false, 10000, false, "2026-11-23T10:06:00Z"),
	want(d+"%D1%84%D0%BE%D1%82%D0%BE.jpg", "фото.jpg", false, 5000000, false, "2026-11-24T23:59:00Z"),
}

// apacheFancy is the same for FancyIndexing's <pre> and HTMLTable forms:
// apr_strfsize sizes, exact below 973 bytes.
var apacheFancy = []string{
	want(d+"%3ctag%3e.txt", "<tag>.txt", false, 1024, true, "2026-11-23T10:05:00Z"),
	want(d+"a%20b.txt", "a b.txt", false, 12288, true, "2026-11-23T10:01:00Z"),
	want(d+"c%231.txt", "c#1.txt", false, 0, false, "2026-11-23T10:02:00Z"),
	want(d+"q%3f.txt", "q?.txt", false, 1258291, true, "2026-11-23T10:03:00Z"),
	want(d+"sub/", "sub", true, -1, false, "2026-11-23T10:00:00Z"),
	want(d+longName, longName, false, 3221225472, true, "2025-01-02T03:04:00Z"),
	want(d+"x&y:z.txt", "x&y:z.txt", false, 10035, true, "2026-11-23T10:06:00Z"),
	want(d+"%d1%84%d0%be%d1%82%d0%be.jpg", "фото.jpg", false, 5033165, true, "2026-11-24T23:59:00Z"),
}

func TestParseInline(t *testing.T) {
	tests := []struct {
		name   string
		base   string
		ct     string
		body   string
		format Format
		want   []string
	}{
		{
			name: "apache 2.2 dates and icons that are links",
			base: d, ct: "text/html",
			body: "<html><head><title>Index of /dump</title></head><body><h1>Index of /dump</h1>\n" +
				"<pre><a href=\"?N=D\">Name</a>  <a href=\"?M=A\">Last modified</a>\n<hr>\n" +
				"<a href=\"/\"><img src=\"/icons/back.gif\" alt=\"[DIR]\"></a> <a href=\"/\">Parent Directory</a>        -\n" +
				"<a href=\"a.jpg\"><img src=\"/icons/image2.gif\" alt=\"[IMG]\"></a> <a href=\"a.jpg\">a.jpg</a>  23-Nov-2026 10:00  14K\n" +
				"<a href=\"b/\"><img src=\"/icons/folder.gif\" alt=\"[DIR]\"></a> <a href=\"b/\">b/</a>  23-Nov-2026 10:07    -\n" +
				"</pre></body></html>",
			format: FormatApacheFancy,
			want: []string{
				want(d+"a.jpg", "a.jpg", false, 14336, true, "2026-11-23T10:00:00Z"),
				want(d+"b/", "b", true, -1, false, "2026-11-23T10:07:00Z"),
			},
		},
		{
			name: "upper-case tags, unclosed anchors, entities and ./ hrefs",
			base: d, ct: "",
			body: "<HTML><BODY><PRE><A HREF=\"./a&amp;b.bin\">a&amp;b.bin<A HREF='c%20d/'>c d/</A>\n" +
				"<a href=\"./a&amp;b.bin\">again</a> <a href=\"e&#x2F;f.txt\">e</a></PRE>",
			format: FormatGeneric,
			want: []string{
				want(d+"a&b.bin", "a&b.bin", false, -1, false, ""),
				want(d+"c%20d/", "c d", true, -1, false, ""),
				want(d+"e/f.txt", "f.txt", false, -1, false, ""),
			},
		},
		{
			name: "base without a trailing slash resolves against its directory",
			base: "http://dump.example.onion/dump", ct: "text/html",
			body:   `<a href="dump/x.txt">x</a><a href="/dump/">self</a><a href="/">parent</a><a href="y.txt">y</a>`,
			format: FormatGeneric,
			want: []string{
				want("http://dump.example.onion/dump/x.txt", "x.txt", false, -1, false, ""),
				want("http://dump.example.onion/y.txt", "y.txt", false, -1, false, ""),
			},
		},
		{
			name: "invalid percent escapes and control characters are repaired",
			base: d, ct: "text/html",
			body:   "<a href=\"100%.txt\">a</a><a href=\"tab\x01.txt\">b</a><a href=\"%zz\">c</a>",
			format: FormatGeneric,
			want: []string{
				want(d+"100%25.txt", "100%.txt", false, -1, false, ""),
				want(d+"tab%01.txt", "tab\x01.txt", false, -1, false, ""),
				want(d+"%25zz", "%zz", false, -1, false, ""),
			},
		},
		{
			name: "nginx json other type, missing names and negative sizes",
			base: d, ct: "application/json",
			body: `[{ "name":"sock", "type":"other", "mtime":"Mon, 23 Nov 2026 10:00:00 GMT" },` +
				`{ "name":"", "type":"file", "size":1 },{ "name":"neg", "type":"file", "size":-5 },` +
				`{ "name":"..", "type":"directory" },{ "name":"a:b", "type":"file", "size":7 }]`,
			format: FormatNginxJSON,
			want: []string{
				want(d+"sock", "sock", false, -1, false, "2026-11-23T10:00:00Z"),
				want(d+"neg", "neg", false, -1, false, ""),
				want(d+"a:b", "a:b", false, 7, false, ""),
			},
		},
		{
			name: "empty body",
			base: d, ct: "text/html", body: "", format: FormatGeneric,
		},
		{
			name: "empty json array",
			base: d, ct: "application/json", body: " [ ] ", format: FormatNginxJSON,
		},
		{
			name: "IIS long dates and day-first dates",
			base: d, ct: "text/html",
			body: `<pre><A HREF="/">[To Parent Directory]</A><br><br>` +
				`Monday, November 23, 2026  1:05 PM        12345 <A HREF="/dump/a.bin">a.bin</A><br>` +
				` 23/11/2026 13:06        &lt;dir&gt; <A HREF="/dump/d">d</A><br></pre>`,
			format: FormatIIS,
			want: []string{
				want(d+"a.bin", "a.bin", false, 12345, false, "2026-11-23T13:05:00Z"),
				want(d+"d/", "d", true, -1, false, "2026-11-23T13:06:00Z"),
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, f, err := Parse(mustURL(t, tt.base), tt.ct, []byte(tt.body))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if f != tt.format {
				t.Errorf("format = %q, want %q", f, tt.format)
			}
			checkEntries(t, got, tt.want)
		})
	}
}

func TestParseErrors(t *testing.T) {
	small := limits{entries: 2, links: 10, name: 16}
	tests := []struct {
		name    string
		base    *url.URL
		ct      string
		body    string
		lim     limits
		is      error
		wantErr string
	}{
		{"nil base", nil, "text/html", "", defaultLimits, ErrBadBase,
			"parse listing: base URL is not absolute"},
		{"relative base", &url.URL{Path: "/dump/"}, "text/html", "", defaultLimits, ErrBadBase,
			"parse listing: base URL is not absolute"},
		{"json object", mustURL(t, d), "application/json", `{"dirlist":[]}`, defaultLimits, ErrMalformed,
			"parse nginx-json listing of http://dump.example.onion/dump/: JSON listing is not an array: malformed listing"},
		{"json bad item", mustURL(t, d), "application/json", `[{"name":3}]`, defaultLimits, ErrMalformed,
			"parse nginx-json listing of http://dump.example.onion/dump/: read JSON item 1: json: cannot unmarshal number into Go struct field jsonItem.name of type string: malformed listing"},
		{"xml truncated", mustURL(t, d), "text/xml", `<list><file size="1">a`, defaultLimits, ErrMalformed,
			"parse nginx-xml listing of http://dump.example.onion/dump/: read XML item 1: XML syntax error on line 1: unexpected EOF: malformed listing"},
		{"too many entries", mustURL(t, d), "text/html", `<a href="a">a</a><a href="b">b</a><a href="c">c</a>`, small, ErrTooLarge,
			"parse generic listing of http://dump.example.onion/dump/: more than 2 entries: listing too large"},
		{"too many links", mustURL(t, d), "text/html", strings.Repeat(`<a href="a">a</a>`, 11), small, ErrTooLarge,
			"parse generic listing of http://dump.example.onion/dump/: more than 10 links: listing too large"},
		{"long href", mustURL(t, d), "text/html", `<a href="` + strings.Repeat("x", 17) + `">x</a>`, small, ErrTooLarge,
			"parse generic listing of http://dump.example.onion/dump/: attribute of 17 bytes exceeds 16: listing too large"},
		{"long json name", mustURL(t, d), "application/json", `[{"name":"` + strings.Repeat("x", 17) + `","type":"file"}]`, small, ErrTooLarge,
			"parse nginx-json listing of http://dump.example.onion/dump/: name of 17 bytes exceeds 16: listing too large"},
		{"too many xml items", mustURL(t, d), "", "<list>" + strings.Repeat(`<file size="1">a</file>`, 11) + "</list>", small, ErrTooLarge,
			"parse nginx-xml listing of http://dump.example.onion/dump/: more than 10 links: listing too large"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _, err := parse(tt.base, tt.ct, []byte(tt.body), tt.lim)
			if !errors.Is(err, tt.is) {
				t.Fatalf("err = %v, want %v", err, tt.is)
			}
			if err.Error() != tt.wantErr {
				t.Errorf("err text:\n got %q\nwant %q", err.Error(), tt.wantErr)
			}
			if got != nil {
				t.Errorf("entries = %v, want nil", got)
			}
		})
	}
}

// TestDefaultLimits pins the caps Parse documents; TestParseErrors shows
// how each cap is enforced, with small limits.
func TestDefaultLimits(t *testing.T) {
	if defaultLimits.entries != MaxEntries || defaultLimits.name != MaxNameLen || defaultLimits.links < MaxEntries {
		t.Errorf("defaultLimits = %+v, want entries %d, name %d, links >= entries", defaultLimits, MaxEntries, MaxNameLen)
	}
	if MaxEntries != 1_000_000 || MaxNameLen != 64<<10 {
		t.Errorf("MaxEntries, MaxNameLen = %d, %d; want 1000000, 65536", MaxEntries, MaxNameLen)
	}
}

func TestSniff(t *testing.T) {
	tests := []struct {
		ct   string
		body string
		want kind
	}{
		{"text/html", "[not json]", kindHTML},
		{"", "  [ ]", kindJSON},
		{"text/plain", "/* callback */\r\ncb([]);", kindJSON},
		{"application/json; charset=utf-8", "<html>", kindJSON},
		{"text/xml", `<?xml version="1.0"?><list></list>`, kindXML},
		{"application/xml", `<?xml version="1.0"?><html></html>`, kindHTML},
		{"", "\xef\xbb\xbf<?xml version=\"1.0\"?>\r\n<list>\r\n</list>", kindXML},
		{"", `<?xml version="1.0" encoding="iso-8859-1"?><!DOCTYPE html><html>`, kindHTML},
		{"TEXT/HTML", "<list>", kindHTML},
		{"bogus;;;", "", kindHTML},
	}
	for _, tt := range tests {
		if got := sniff(tt.ct, []byte(tt.body)); got != tt.want {
			t.Errorf("sniff(%q, %q) = %d, want %d", tt.ct, tt.body, got, tt.want)
		}
	}
}
