package demo

import (
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestAutoindexMatchesNginx reproduces a listing captured from nginx
// (Debian's default site with one folder added).
func TestAutoindexMatchesNginx(t *testing.T) {
	d := NewDump(1, []File{
		{Path: "dir1/x", Size: 1, ModTime: time.Date(2025, time.November, 24, 14, 4, 0, 0, time.UTC)},
		{Path: "index.nginx-debian.html", Size: 612, ModTime: time.Date(2025, time.November, 24, 13, 57, 31, 0, time.UTC)},
	})
	want := "<html>\r\n" +
		"<head><title>Index of /</title></head>\r\n" +
		"<body>\r\n" +
		"<h1>Index of /</h1><hr><pre><a href=\"../\">../</a>\r\n" +
		"<a href=\"dir1/\">dir1/</a>                                              24-Nov-2025 14:04                   -\r\n" +
		"<a href=\"index.nginx-debian.html\">index.nginx-debian.html</a>                            24-Nov-2025 13:57                 612\r\n" +
		"</pre><hr></body>\r\n" +
		"</html>\r\n"
	if got := string(autoindex("/", d.dirs[""])); got != want {
		t.Errorf("listing:\n%q\nwant\n%q", got, want)
	}
}

func TestAutoindexEscapesAndTruncates(t *testing.T) {
	at := time.Date(2026, time.November, 23, 10, 0, 0, 0, time.UTC)
	d := NewDump(1, []File{
		{Path: "top/R&D <draft>.pdf", Size: 7, ModTime: at},
		{Path: "top/Quarterly_financial_statement_consolidated_FY2023_final_v3.pdf", Size: 1234567, ModTime: at},
		{Path: "top/a dir/x", Size: 1, ModTime: at},
		{Path: "top/über.txt", Size: 0, ModTime: at},
	})
	want := "<html>\r\n<head><title>Index of /dump/top/</title></head>\r\n<body>\r\n" +
		"<h1>Index of /dump/top/</h1><hr><pre><a href=\"../\">../</a>\r\n" +
		`<a href="a%20dir/">a dir/</a>                                             23-Nov-2026 10:00                   -` + "\r\n" +
		`<a href="Quarterly_financial_statement_consolidated_FY2023_final_v3.pdf">Quarterly_financial_statement_consolidated_FY20..&gt;</a> 23-Nov-2026 10:00             1234567` + "\r\n" +
		`<a href="R%26D%20%3Cdraft%3E.pdf">R&amp;D &lt;draft&gt;.pdf</a>                                    23-Nov-2026 10:00                   7` + "\r\n" +
		`<a href="%C3%BCber.txt">über.txt</a>                                           23-Nov-2026 10:00                   0` + "\r\n" +
		"</pre><hr></body>\r\n</html>\r\n"
	if got := string(autoindex("/dump/top/", d.dirs["top"])); got != want {
		t.Errorf("listing:\n%s\nwant\n%s", got, want)
	}
}

func TestEscapePath(t *testing.T) {
	for in, want := range map[string]string{
		"photos/plates/IMG_0001.JPG":            "photos/plates/IMG_0001.JPG",
		"documents/Passport scans 2023.pdf":     "documents/Passport%20scans%202023.pdf",
		"a:b/c?d#e%f&g\"h<i>":                   "a%3Ab/c%3Fd%23e%25f%26g%22h%3Ci%3E",
		"Übersicht Kunden & Verträge.xlsx":      "%C3%9Cbersicht%20Kunden%20%26%20Vertr%C3%A4ge.xlsx",
		"keep-._~!$'()*+,;=@":                   "keep-._~!$'()*+,;=@",
		"tab\there":                             "tab%09here",
		"backslash\\and\x7fdel":                 "backslash%5Cand%7Fdel",
		"documents/Übersicht Kunden & Verträge": "documents/%C3%9Cbersicht%20Kunden%20%26%20Vertr%C3%A4ge",
	} {
		if got := EscapePath(in); got != want {
			t.Errorf("EscapePath(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzEscapePath checks that escaped paths round-trip through URL parsing
// and contain nothing HTML would need escaped.
func FuzzEscapePath(f *testing.F) {
	for _, s := range []string{"", "a b", "ü/ß", "%41", "a:b", "?#&<>\"'", "\x00\xff", "+"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e := EscapePath(s)
		back, err := url.PathUnescape(e)
		if err != nil || back != s {
			t.Fatalf("PathUnescape(EscapePath(%q)) = %q, %v", s, back, err)
		}
		if strings.ContainsAny(e, "<>&\" ?#:\\\t\r\n") {
			t.Fatalf("EscapePath(%q) = %q keeps a character that needs escaping", s, e)
		}
		u, err := url.Parse("http://h/dump/" + e)
		if err != nil || u.Path != "/dump/"+s {
			t.Fatalf("url.Parse of escaped %q: path %q, %v", s, u.Path, err)
		}
	})
}
