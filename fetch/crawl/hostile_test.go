package crawl_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/grab-ir/grab/fetch"
	"github.com/grab-ir/grab/fetch/crawl"
)

// recorder is a server that notes every path asked of it.
type recorder struct {
	mu    sync.Mutex
	paths []string
}

func (r *recorder) note(p string) {
	r.mu.Lock()
	r.paths = append(r.paths, p)
	r.mu.Unlock()
}

func (r *recorder) seen() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.paths...)
}

// A hostile listing yields only its legitimate files, writes nothing
// outside the output folder and contacts no other host.
func TestHostileListing(t *testing.T) {
	other := &recorder{}
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		other.note(r.URL.Path)
		w.Write([]byte("stolen"))
	}))
	defer evil.Close()
	evilHost := strings.TrimPrefix(evil.URL, "http://")

	long := strings.Repeat("L", 300) + ".jpg"
	self := &recorder{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		self.note(r.URL.Path)
		switch p := r.URL.Path; {
		case p == "/dump/":
			fmt.Fprintf(w, `<html><body><h1>Index of /dump/</h1><pre>
<a href="../">../</a>
<a href="../secret.txt">x</a> <a href="%%2e%%2e/secret.txt">x</a> <a href="%%2E%%2e%%2Fsecret.txt">x</a>
<a href="..%%2fsecret.txt">x</a> <a href="sub%%2f..%%2f..%%2fsecret.txt">x</a> <a href="..%%5csecret.txt">x</a>
<a href="/etc/passwd">x</a> <a href="/secret.txt">x</a> <a href="//%[1]s/proto-relative.jpg">x</a>
<a href="http://%[1]s/other-host.jpg">x</a> <a href="https://%[2]s/dump/other-scheme.jpg">x</a>
<a href="javascript:alert(1)">x</a> <a href="mailto:a@b">x</a> <a href="?C=N;O=D">sort</a>
<a href="/dump/ok.jpg">ok.jpg</a>
<a href="ok2.pdf?download=1#frag">ok2.pdf</a>
<a href="nul%%00byte.jpg">nul</a> <a href="esc%%1b%%5b31m.txt">esc</a>
<a href="%[3]s">long</a>
<a href=".grab">state</a>
<a href="redirect.jpg">redirect</a>
<a href="loop/">loop/</a>
</pre></body></html>`, evilHost, strings.TrimPrefix(evilURL(r), "http://"), long)
		case strings.HasPrefix(p, "/dump/loop/"):
			w.Write([]byte(`<html><body><pre><a href="../">../</a> <a href="loop/">loop/</a></pre></body></html>`))
		case p == "/dump/redirect.jpg":
			http.Redirect(w, r, evil.URL+"/via-redirect.jpg", http.StatusFound)
		case strings.HasPrefix(p, "/dump/") && !strings.HasSuffix(p, "/"):
			w.Header().Set("Content-Type", "application/octet-stream")
			w.Write([]byte("content of " + p))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()

	out, e, err := crawlJob(t, srv.URL+"/dump/", crawl.Options{}, nil)
	if !errors.Is(err, fetch.ErrFailed) {
		t.Fatalf("Run: %v (the redirect to another host must fail)", err)
	}
	got := tree(t, out)
	want := map[string][]byte{
		"ok.jpg":          []byte("content of /dump/ok.jpg"),
		"ok2.pdf":         []byte("content of /dump/ok2.pdf"),
		"nul_byte.jpg":    []byte("content of /dump/nul\x00byte.jpg"),
		"esc_[31m.txt":    []byte("content of /dump/esc\x1b[31m.txt"),
		".grab (2)":       []byte("content of /dump/.grab"),
		shortName(t, got): []byte("content of /dump/" + long),
	}
	checkSame(t, want, got)
	if seen := other.seen(); len(seen) != 0 {
		t.Fatalf("the other host was contacted: %q", seen)
	}
	for _, p := range self.seen() {
		if !strings.HasPrefix(p, "/dump/") {
			t.Errorf("asked for %q, above the start URL", p)
		}
	}
	loops := 0
	for _, p := range self.seen() {
		if strings.HasPrefix(p, "/dump/loop/") {
			loops++
		}
	}
	if loops != 32 {
		t.Errorf("%d loop/ listings read, want 32: folders 1 to 32 deep (--depth 32), none deeper", loops)
	}
	var failed []string
	unsafe := 0
	for _, f := range e.Files() {
		switch {
		case f.State == fetch.Failed && strings.HasPrefix(f.Err, "an unsafe name: unsafe path segment") && f.Path == "":
			unsafe++
		case f.State == fetch.Failed:
			failed = append(failed, f.Path+": "+f.Err)
		}
	}
	// Named as no file may be asked for, below the folder: failed, shown
	// (grab ls), never dropped in silence nor fetched. Links above the
	// folder, to other hosts or schemes are not the dump's: not counted.
	if unsafe != 5 {
		t.Errorf("%d links failed for an unsafe name, want 5 (the encoded dots, slashes and backslash)", unsafe)
	}
	wantFail := "redirect.jpg: Get \"" + evil.URL + "/via-redirect.jpg\": redirect refused: " +
		strings.TrimPrefix(srv.URL, "http://") + " redirects to another host, " + evilHost
	if len(failed) != 1 || !strings.HasPrefix(failed[0], wantFail) {
		t.Errorf("failed files %q, want %q", failed, wantFail)
	}
	entries, _ := os.ReadDir(filepath.Dir(out))
	if len(entries) != 1 {
		t.Errorf("something was written beside the output folder: %v", entries)
	}
}

func evilURL(r *http.Request) string { return "http://" + r.Host }

// shortName finds the shortened form of the 300-byte name in got.
func shortName(t *testing.T, got map[string][]byte) string {
	for k := range got {
		if strings.HasPrefix(k, "LLLL") {
			if len(k) > 200 || !strings.HasSuffix(k, ".jpg") || !strings.Contains(k, "~") {
				t.Errorf("long name shortened to %q", k)
			}
			return k
		}
	}
	t.Error("the long name is missing")
	return "LLLL"
}
