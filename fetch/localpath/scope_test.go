package localpath

import (
	"errors"
	"net/url"
	"reflect"
	"strings"
	"testing"
)

func mustParse(t testing.TB, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatalf("url.Parse(%q): %v", s, err)
	}
	return u
}

func TestCheck(t *testing.T) {
	const dump = "http://h/dump/"
	tests := []struct {
		name    string
		root    string
		url     string
		want    []string
		wantErr error
		errText string
	}{
		// In scope.
		{name: "file", root: dump, url: "http://h/dump/a/b.jpg", want: []string{"a", "b.jpg"}},
		{name: "root itself", root: dump, url: "http://h/dump/", want: []string{}},
		{name: "subdirectory", root: dump, url: "http://h/dump/a/", want: []string{"a"}},
		{name: "single-file root", root: "http://h/dump/b.jpg", url: "http://h/dump/b.jpg", want: []string{"b.jpg"}},
		{name: "single-file root sibling", root: "http://h/dump/b.jpg", url: "http://h/dump/c/d", want: []string{"c", "d"}},
		{name: "host root", root: "http://h", url: "http://h/x", want: []string{"x"}},
		{name: "query and fragment ignored", root: dump, url: "http://h/dump/a.jpg?C=N;O=D#top", want: []string{"a.jpg"}},
		{name: "sort link is the root", root: dump, url: "http://h/dump/?C=M;O=A", want: []string{}},
		{name: "decoded", root: dump, url: "http://h/dump/my%20file%23%3F%26.jpg", want: []string{"my file#?&.jpg"}},
		{name: "utf8", root: dump, url: "http://h/dump/%C3%A9t%C3%A9.jpg", want: []string{"été.jpg"}},
		{name: "escaped root dir", root: "http://h/d%75mp/", url: "http://h/dump/x", want: []string{"x"}},
		{name: "NUL passes to the mapper", root: dump, url: "http://h/dump/x%00.jpg", want: []string{"x\x00.jpg"}},
		{name: "control chars pass to the mapper", root: dump, url: "http://h/dump/a%09b%1b", want: []string{"a\tb\x1b"}},
		{name: "dot resolved inside", root: dump, url: "http://h/dump/a/./b/../c.jpg", want: []string{"a", "c.jpg"}},
		{name: "dotdot at top stays at top", root: dump, url: "http://h/../../dump/x", want: []string{"x"}},
		{name: "dotdot back into scope", root: dump, url: "http://h/dump/a/../../dump/x", want: []string{"x"}},
		{name: "trailing dot is a directory", root: dump, url: "http://h/dump/a/.", want: []string{"a"}},
		{name: "default port http", root: dump, url: "http://h:80/dump/x", want: []string{"x"}},
		{name: "default port https", root: "https://h/dump/", url: "https://h:443/dump/x", want: []string{"x"}},
		{name: "empty port", root: dump, url: "http://h:/dump/x", want: []string{"x"}},
		{name: "leading zero port", root: dump, url: "http://h:0080/dump/x", want: []string{"x"}},
		{name: "host case", root: "http://H:80/dump/", url: "http://h/dump/x", want: []string{"x"}},
		{name: "scheme case", root: dump, url: "HTTP://h/dump/x", want: []string{"x"}},
		{name: "onion", root: "http://abcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopqrstu.onion/d/", url: "http://ABCDEFGHIJKLMNOPQRSTUVWXYZ234567abcdefghijklmnopqrstu.onion/d/x", want: []string{"x"}},
		{name: "ipv6", root: "http://[::1]:8080/d/", url: "http://[::1]:8080/d/x", want: []string{"x"}},
		{name: "userinfo ignored", root: dump, url: "http://u:p@h/dump/x", want: []string{"x"}},

		// Out of scope.
		{name: "dotdot escape", root: dump, url: "http://h/dump/../etc/passwd", wantErr: ErrAboveRoot,
			errText: "outside the start directory: /etc/passwd is not below /dump/"},
		{name: "dotdot escape deep", root: dump, url: "http://h/dump/a/../../x", wantErr: ErrAboveRoot,
			errText: "outside the start directory: /x is not below /dump/"},
		{name: "encoded dotdot", root: dump, url: "http://h/dump/%2e%2e/etc/passwd", wantErr: ErrBadSegment,
			errText: `unsafe path segment "%2e%2e": decodes to ".." in /dump/%2e%2e/etc/passwd`},
		{name: "encoded dotdot mixed case", root: dump, url: "http://h/dump/%2E%2e/x", wantErr: ErrBadSegment,
			errText: `unsafe path segment "%2E%2e": decodes to ".." in /dump/%2E%2e/x`},
		{name: "half-encoded dotdot", root: dump, url: "http://h/dump/.%2e/x", wantErr: ErrBadSegment},
		{name: "encoded dot", root: dump, url: "http://h/dump/%2e/x", wantErr: ErrBadSegment,
			errText: `unsafe path segment "%2e": decodes to "." in /dump/%2e/x`},
		{name: "dotdot slash encoded", root: dump, url: "http://h/dump/..%2f..%2fetc%2fpasswd", wantErr: ErrBadSegment,
			errText: `unsafe path segment "..%2f..%2fetc%2fpasswd": decodes to a name with a slash in /dump/..%2f..%2fetc%2fpasswd`},
		{name: "encoded slash", root: dump, url: "http://h/dump/a%2fb", wantErr: ErrBadSegment},
		{name: "encoded slash upper", root: dump, url: "http://h/dump/a%2Fb", wantErr: ErrBadSegment},
		{name: "encoded backslash", root: dump, url: "http://h/dump/..%5c..%5cx", wantErr: ErrBadSegment},
		{name: "raw backslash", root: dump, url: `http://h/dump/..\..\x`, wantErr: ErrBadSegment,
			errText: `unsafe path segment "..%5C..%5Cx": decodes to a name with a dot segment between backslashes in /dump/..%5C..%5Cx`},
		{name: "backslash in a name", root: dump, url: `http://h/dump/C:%5CUsers%5Cx%5Cdoc.txt`, want: []string{`C:\Users\x\doc.txt`}},
		{name: "dot behind a backslash", root: dump, url: `http://h/dump/a%5C.%5Cb`, wantErr: ErrBadSegment},
		{name: "empty segment", root: dump, url: "http://h/dump//evil/x", wantErr: ErrBadSegment,
			errText: "unsafe path segment: empty segment in /dump//evil/x"},
		{name: "absolute path", root: dump, url: "http://h/abs", wantErr: ErrAboveRoot,
			errText: "outside the start directory: /abs is not below /dump/"},
		{name: "root dir without slash", root: dump, url: "http://h/dump", wantErr: ErrAboveRoot},
		{name: "sibling prefix", root: dump, url: "http://h/dumpster/x", wantErr: ErrAboveRoot},
		{name: "path case", root: dump, url: "http://h/DUMP/x", wantErr: ErrAboveRoot},
		{name: "double slash above root", root: dump, url: "http://h//dump/x", wantErr: ErrAboveRoot},
		{name: "resolved protocol-relative", root: dump, url: "http://other.host/x", wantErr: ErrOtherHost,
			errText: "other host: other.host:80, the crawl is on h:80"},
		{name: "unresolved protocol-relative", root: dump, url: "//other.host/x", wantErr: ErrOtherScheme,
			errText: `other scheme: relative URL "//other.host/x" was not resolved`},
		{name: "relative", root: dump, url: "a/b", wantErr: ErrOtherScheme},
		{name: "other host", root: dump, url: "http://other/", wantErr: ErrOtherHost,
			errText: "other host: other:80, the crawl is on h:80"},
		{name: "host suffix", root: dump, url: "http://h.evil/dump/x", wantErr: ErrOtherHost},
		{name: "https vs http", root: dump, url: "https://h/dump/x", wantErr: ErrOtherScheme,
			errText: "other scheme: https, the crawl is on http"},
		{name: "http vs https", root: "https://h/dump/", url: "http://h/dump/x", wantErr: ErrOtherScheme},
		{name: "ftp", root: dump, url: "ftp://h/dump/x", wantErr: ErrOtherScheme,
			errText: "other scheme: ftp, the crawl is on http"},
		{name: "javascript", root: dump, url: "javascript:alert(1)", wantErr: ErrOtherScheme},
		{name: "mailto", root: dump, url: "mailto:a@h", wantErr: ErrOtherScheme},
		{name: "other port", root: dump, url: "http://h:8080/dump/x", wantErr: ErrOtherHost,
			errText: "other host: h:8080, the crawl is on h:80"},
		{name: "https port on http", root: dump, url: "http://h:443/dump/x", wantErr: ErrOtherHost},
		{name: "root has explicit port", root: "http://h:8080/dump/", url: "http://h/dump/x", wantErr: ErrOtherHost,
			errText: "other host: h:80, the crawl is on h:8080"},
		{name: "opaque", root: dump, url: "http:dump/x", wantErr: ErrOtherHost,
			errText: `other host: "http:dump/x" has no host`},
		{name: "no host", root: dump, url: "http:///dump/x", wantErr: ErrOtherHost},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := testScope(mustParse(t, tt.root))
			got, err := s.Check(mustParse(t, tt.url))
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Check(%q) = %q, %v; want error %v", tt.url, got, err, tt.wantErr)
				}
				if tt.errText != "" && err.Error() != tt.errText {
					t.Errorf("error text\n got %q\nwant %q", err.Error(), tt.errText)
				}
				if got != nil {
					t.Errorf("segments %q returned with an error", got)
				}
				return
			}
			if err != nil {
				t.Fatalf("Check(%q): %v", tt.url, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Check(%q) = %q, want %q", tt.url, got, tt.want)
			}
		})
	}
}

func TestCheckNilAndZero(t *testing.T) {
	s := testScope(mustParse(t, "http://h/"))
	if _, err := s.Check(nil); !errors.Is(err, ErrOtherScheme) {
		t.Errorf("Check(nil) = %v, want ErrOtherScheme", err)
	}
	var zero Scope
	if _, err := zero.Check(mustParse(t, "http://h/x")); err == nil {
		t.Error("zero Scope accepted a URL")
	}
}

// A URL built by hand rather than parsed must be judged the same way.
func TestCheckBuiltURL(t *testing.T) {
	s := testScope(mustParse(t, "http://h/dump/"))
	u := &url.URL{Scheme: "http", Host: "h", Path: "/dump/a/../../etc/passwd"}
	if _, err := s.Check(u); !errors.Is(err, ErrAboveRoot) {
		t.Errorf("Check = %v, want ErrAboveRoot", err)
	}
	u = &url.URL{Scheme: "http", Host: "h", Path: "/dump/a/b"}
	if got, err := s.Check(u); err != nil || !reflect.DeepEqual(got, []string{"a", "b"}) {
		t.Errorf("Check = %q, %v", got, err)
	}
}

func TestRemoveDots(t *testing.T) {
	tests := map[string]string{
		"":                    "/",
		"/":                   "/",
		"/a/b/c/./../../g":    "/a/g",
		"/mid/content=5/../6": "/mid/6",
		"/..":                 "/",
		"/../a":               "/a",
		"/a/..":               "/",
		"/a/.":                "/a/",
		"/a/%2e%2e/b":         "/a/%2e%2e/b",
		"/a//../b":            "/a/b",
		"/a/b/":               "/a/b/",
	}
	for in, want := range tests {
		if got := removeDots(in); got != want {
			t.Errorf("removeDots(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCheckLongName(t *testing.T) {
	s := testScope(mustParse(t, "http://h/dump/"))
	long := strings.Repeat("%41", 10<<10)
	got, err := s.Check(mustParse(t, "http://h/dump/"+long))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0] != strings.Repeat("A", 10<<10) {
		t.Errorf("got %d segments", len(got))
	}
}

func TestScopeURL(t *testing.T) {
	root, _ := url.Parse("http://H:80/du%6dp/")
	s := testScope(root)
	for _, c := range []struct {
		segs []string
		dir  bool
		want string
	}{
		{nil, true, "http://h/dump/"},
		{[]string{"a b#1?.jpg"}, false, "http://h/dump/a%20b%231%3F.jpg"},
		{[]string{"sub", "x"}, true, "http://h/dump/sub/x/"},
	} {
		if got := s.URL(c.segs, c.dir); got != c.want {
			t.Errorf("URL(%q, %v) = %q, want %q", c.segs, c.dir, got, c.want)
		}
		u, _ := url.Parse(c.want)
		if segs, err := s.Check(u); err != nil || len(segs) != len(c.segs) {
			t.Errorf("Check(%s) = %q, %v", c.want, segs, err)
		}
	}
	onion, _ := url.Parse("http://abc.onion:8080/")
	if got := testScope(onion).URL([]string{"a"}, false); got != "http://abc.onion:8080/a" {
		t.Errorf("port kept: %q", got)
	}
}

// testScope is NewScope with the web's default ports.
func testScope(root *url.URL) Scope {
	return NewScope(root, map[string]int{"http": 80, "https": 443}[strings.ToLower(root.Scheme)])
}
