package crawl_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/grab-ir/grab/fetch"
	"github.com/grab-ir/grab/fetch/class"
	"github.com/grab-ir/grab/fetch/crawl"
	"github.com/grab-ir/grab/fetch/fetchtest"
)

// Photos found by a listing that answers late are fetched before the rest
// of an archive that had already started: a free worker always takes the
// highest-priority pending work.
func TestLateFoundPhotosOvertakeArchive(t *testing.T) {
	archive := fetchtest.Data("zip", 4<<20)
	log := &recorder{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		log.note(r.URL.Path + " " + r.Header.Get("Range"))
		switch p := r.URL.Path; {
		case p == "/d/":
			fmt.Fprint(w, `<pre><a href="big.zip">big.zip</a> <a href="photos/">photos/</a></pre>`)
		case p == "/d/photos/":
			time.Sleep(300 * time.Millisecond) // the archive starts meanwhile
			log.note("photos listed")
			fmt.Fprint(w, `<pre><a href="1.jpg">1.jpg</a> <a href="2.jpg">2.jpg</a> <a href="3.JPG">3.JPG</a></pre>`)
		case p == "/d/big.zip":
			time.Sleep(100 * time.Millisecond) // a slow circuit: 16 ranges take well over the listing's delay
			http.ServeContent(w, r, "big.zip", time.Time{}, strings.NewReader(string(archive)))
		case strings.HasPrefix(p, "/d/photos/"):
			w.Write([]byte("photo " + p))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	set, _ := class.NewSet(nil)
	ranks, _ := set.Order("photos")
	less := func(a, b *fetch.File) bool { return ranks[a.Class] < ranks[b.Class] }
	_, _, err := crawlJob(t, srv.URL+"/d/", crawl.Options{Classes: set}, func(c *fetch.Config) {
		c.Workers, c.ChunkSize, c.Less = 2, 256<<10, less
	})
	if err != nil {
		t.Fatal(err)
	}
	reqs := log.seen()
	lastPhoto, archiveBefore, archiveAfter := -1, 0, 0
	for i, r := range reqs {
		if strings.HasPrefix(r, "/d/photos/") && !strings.HasPrefix(r, "/d/photos/ ") && !strings.HasSuffix(r, "listed") {
			lastPhoto = i
		}
	}
	for i, r := range reqs {
		if strings.HasPrefix(r, "/d/big.zip") {
			if i < lastPhoto {
				archiveBefore++
			} else {
				archiveAfter++
			}
		}
	}
	// Two workers: while the photo listing is slow, the other worker runs
	// archive ranges; once photos are known, each free worker takes them,
	// so at most one archive range (the other worker's next) starts before
	// the last photo is asked for.
	if archiveBefore < 1 || lastPhoto < 0 {
		t.Fatalf("the archive did not start before the photos were found: %q", reqs)
	}
	listed := -1
	for i, r := range reqs {
		if r == "photos listed" {
			listed = i
		}
	}
	between := 0
	for _, r := range reqs[listed+1 : lastPhoto] {
		if strings.HasPrefix(r, "/d/big.zip") {
			between++
		}
	}
	if between > 1 {
		t.Fatalf("%d archive ranges were started between the photo listing and the last photo: %q", between, reqs)
	}
}
