package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// From the command line: query links land as files named by the query
// or by Content-Disposition, and a query link that is a page is counted
// as left out.
func TestQueryLinksCommand(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/dump/":
			w.Write([]byte(`<html><body><pre><a href="get.php?file=a.jpg">a</a> <a href="get.php?file=b.jpg">b</a>
<a href="dl.php?id=1">1</a> <a href="index.php?page=2">next</a></pre></body></html>`))
		case "/dump/get.php":
			w.Header().Set("Content-Type", "image/jpeg")
			fmt.Fprintf(w, "photo %s", r.URL.Query().Get("file"))
		case "/dump/dl.php":
			w.Header().Set("Content-Disposition", `attachment; filename="plates.csv"`)
			w.Write([]byte("plates"))
		case "/dump/index.php":
			w.Header().Set("Content-Type", "text/html")
			w.Write([]byte("<html>page 2</html>"))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	dir := filepath.Join(t.TempDir(), "out")
	r := grab(t, srv.URL+"/dump/", "-o", dir)
	if r.code != 0 || !strings.Contains(r.stderr, "grab: left out by filters and rules: 1 files, 0 folders") {
		t.Fatalf("exit %d:\n%s", r.code, r.stderr)
	}
	for name, want := range map[string]string{"a.jpg": "photo a.jpg", "b.jpg": "photo b.jpg", "plates.csv": "plates"} {
		if b, err := os.ReadFile(filepath.Join(dir, name)); err != nil || string(b) != want {
			t.Errorf("%s: %q %v", name, b, err)
		}
	}
	ls := grab(t, "ls", "-o", dir)
	if !strings.Contains(ls.stdout, "a page, not a file") {
		t.Errorf("grab ls does not say why the page was left out:\n%s", ls.stdout)
	}
}
