package httpsrc_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/grab-ir/grab/fetch/dial"
	"github.com/grab-ir/grab/fetch/httpsrc"
)

const cookiesTxt = `# Netscape HTTP Cookie File
127.0.0.1	FALSE	/	FALSE	0	session	s1
#HttpOnly_127.0.0.1	FALSE	/dump	FALSE	4102444800	deep	d1
127.0.0.1	FALSE	/other	FALSE	0	elsewhere	no
127.0.0.1	FALSE	/	TRUE	0	secure	no
127.0.0.1	FALSE	/	FALSE	1000	expired	no
.example.org	TRUE	/	FALSE	0	foreign	no
`

// The source's header and matching cookies go with every request, and
// never its own Range or encoding choices.
func TestHeaderAndCookies(t *testing.T) {
	var mu sync.Mutex
	var got http.Header
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = r.Header.Clone()
		mu.Unlock()
		w.Write([]byte("x"))
	}))
	defer srv.Close()
	cookies, err := httpsrc.ParseCookies(strings.NewReader(cookiesTxt))
	if err != nil || len(cookies) != 6 {
		t.Fatalf("%d cookies, %v", len(cookies), err)
	}
	h := httpsrc.BrowserHeader()
	h.Set("Referer", "http://x.onion/")
	h.Set("Accept-Encoding", "gzip")
	d, _ := dial.New("")
	src := &httpsrc.Source{Dialer: d, Header: h, Cookies: cookies, Now: func() time.Time { return time.Unix(2000, 0) }}
	if err := get(t, src, srv.URL+"/dump/a.jpg"); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"User-Agent":      "Mozilla/5.0 (Windows NT 10.0; rv:140.0) Gecko/20100101 Firefox/140.0",
		"Accept-Language": "en-US,en;q=0.5",
		"Referer":         "http://x.onion/",
		"Cookie":          "session=s1; deep=d1",
		"Accept-Encoding": "",
	}
	for k, v := range want {
		if got.Get(k) != v {
			t.Errorf("%s: %q, want %q", k, got.Get(k), v)
		}
	}
	if _, err := httpsrc.ParseCookies(strings.NewReader("a\tb\n")); err == nil || err.Error() != "cookies line 1: 2 tab-separated fields, want 7 (domain, subdomains, path, secure, expiry, name, value)" {
		t.Errorf("bad line: %v", err)
	}
	src = &httpsrc.Source{Dialer: d}
	if get(t, src, srv.URL+"/x"); got.Get("User-Agent") != "grab/0.1" {
		t.Errorf("default: %q", got.Get("User-Agent"))
	}
}

// Whatever a cookies file holds, parsing neither panics nor lets a tab or
// a line break into a name or value.
func FuzzParseCookies(f *testing.F) {
	f.Add(cookiesTxt)
	f.Add("#HttpOnly_.a\tTRUE\t\tTRUE\t-1\tn\tv\r\n")
	f.Fuzz(func(t *testing.T, s string) {
		cs, err := httpsrc.ParseCookies(strings.NewReader(s))
		if err != nil {
			return
		}
		for _, c := range cs {
			if strings.ContainsAny(c.Name+c.Value+c.Domain+c.Path, "\t\n") {
				t.Fatalf("%+v from %q", c, s)
			}
		}
	})
}
