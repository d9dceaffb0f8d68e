package httpsrc_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/grab-ir/grab/fetch"
	"github.com/grab-ir/grab/fetch/dial"
	"github.com/grab-ir/grab/fetch/fetchtest"
	"github.com/grab-ir/grab/fetch/httpsrc"
)

// smallTree writes n files of a few KB below a new folder.
func smallTree(t *testing.T, n int) (string, map[string][]byte) {
	root := t.TempDir()
	files := map[string][]byte{}
	for i := range n {
		name := fmt.Sprintf("p%03d.jpg", i)
		data := fetchtest.Data(name, 1000+i*97)
		files[name] = data
		if err := os.WriteFile(filepath.Join(root, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root, files
}

// batch runs GetBatch on urls and returns what fn got for each.
func batch(t *testing.T, c fetch.Conn, urls []string) (map[string][]byte, map[string]error) {
	t.Helper()
	reqs := make([]fetch.Request, len(urls))
	for i, u := range urls {
		reqs[i] = fetch.Request{URL: u, Size: -1}
	}
	got, errs := map[string][]byte{}, map[string]error{}
	order := 0
	err := c.(*httpsrc.Conn).GetBatch(t.Context(), reqs, func(i int, s *fetch.Stream, err error) error {
		if i != order {
			t.Errorf("answer %d handed over as number %d", i, order)
		}
		order++
		if err != nil {
			errs[urls[i]] = err
			return nil
		}
		if s.Offset != 0 || !s.Whole {
			t.Errorf("%s: offset %d whole %v", urls[i], s.Offset, s.Whole)
		}
		b, err := io.ReadAll(s.Body)
		if err != nil {
			errs[urls[i]] = err
		}
		got[urls[i]] = b
		return nil
	})
	if err != nil {
		t.Fatalf("GetBatch: %v", err)
	}
	if order != len(urls) {
		t.Fatalf("%d of %d answers handed over", order, len(urls))
	}
	return got, errs
}

// sameFiles fetches urls in one batch and checks each against files, by
// base name.
func sameFiles(t *testing.T, c fetch.Conn, urls []string, files map[string][]byte) {
	t.Helper()
	got, errs := batch(t, c, urls)
	if len(errs) > 0 {
		t.Fatalf("errors: %v", errs)
	}
	for _, u := range urls {
		if string(got[u]) != string(files[u[strings.LastIndexByte(u, '/')+1:]]) {
			t.Errorf("%s: %d bytes differ", u, len(got[u]))
		}
	}
}

// A batch of small files from nginx comes over a few pipelined
// connections, byte-identical.
func TestGetBatchNginx(t *testing.T) {
	root, files := smallTree(t, 40)
	base := fetchtest.Nginx(t, root, "html", "", "")
	var conns atomic.Int32
	addr := fetchtest.Relay(t, strings.TrimSuffix(strings.TrimPrefix(base, "http://"), "/"), func() { conns.Add(1) }, nil)
	d, _ := dial.New("")
	c := (&httpsrc.Source{Dialer: d}).Conn(0)
	defer c.Close()
	var urls []string
	for name := range files {
		urls = append(urls, "http://"+addr+"/"+name)
	}
	sameFiles(t, c, urls, files)
	// nginx keeps a connection for 100 requests by default
	// (keepalive_requests), so 40 fit on one, and the next batch goes on
	// it too.
	sameFiles(t, c, urls[:20], files)
	if n := conns.Load(); n != 1 {
		t.Errorf("%d connections for two batches of 40 and 20 files, want 1", n)
	}
}

// Python's http.server answers HTTP/1.0, one request per connection: the
// Conn finds it out and asks one at a time, every file still whole.
func TestGetBatchOnePerConnection(t *testing.T) {
	root, files := smallTree(t, 6)
	base := fetchtest.Python(t, root)
	d, _ := dial.New("")
	c := (&httpsrc.Source{Dialer: d}).Conn(0)
	defer c.Close()
	var urls []string
	for name := range files {
		urls = append(urls, base+name)
	}
	sameFiles(t, c, urls, files)
}

// rawPipeServer answers pipelined requests in order from answer, closing
// the connection after perConn answers; it counts connections.
func rawPipeServer(t *testing.T, perConn int, answer func(path string) string) (string, *atomic.Int32) {
	t.Helper()
	var n atomic.Int32
	return "http://" + fetchtest.Listen(t, func(c net.Conn) {
		n.Add(1)
		br := bufio.NewReader(c)
		for k := 0; k < perConn; k++ {
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			io.WriteString(c, answer(req.URL.Path))
		}
	}), &n
}

// A server that closes after two answers has the rest sent again; a 404
// and a header too large fail their own files alone; a redirect is
// followed.
func TestGetBatchHostile(t *testing.T) {
	huge := strings.Repeat("x", httpsrc.MaxHeaderBytes+10)
	base, conns := rawPipeServer(t, 2, func(p string) string {
		switch p {
		case "/missing":
			return "HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nnot found"
		case "/huge":
			return "HTTP/1.1 200 OK\r\nX-Big: " + huge + "\r\nContent-Length: 1\r\n\r\nh"
		case "/moved":
			return "HTTP/1.1 302 Found\r\nLocation: /f3\r\nContent-Length: 0\r\n\r\n"
		}
		body := "body of " + p
		return fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
	})
	d, _ := dial.New("")
	c := (&httpsrc.Source{Dialer: d}).Conn(0)
	defer c.Close()
	paths := []string{"/f1", "/f2", "/missing", "/f3", "/moved", "/f4", "/huge", "/f5"}
	var urls []string
	for _, p := range paths {
		urls = append(urls, base+p)
	}
	got, errs := batch(t, c, urls)
	for _, p := range []string{"/f1", "/f2", "/f3", "/f4", "/f5"} {
		if string(got[base+p]) != "body of "+p {
			t.Errorf("%s: %q %v", p, got[base+p], errs[base+p])
		}
	}
	if string(got[base+"/moved"]) != "body of /f3" {
		t.Errorf("/moved: %q %v", got[base+"/moved"], errs[base+"/moved"])
	}
	if err := errs[base+"/missing"]; err == nil || err.Error() != base+"/missing: 404 Not Found" {
		t.Errorf("/missing: %v", err)
	}
	if err := errs[base+"/huge"]; err == nil || !strings.Contains(err.Error(), "the server's answer is not valid HTTP: header larger than 65536 bytes") {
		t.Errorf("/huge: %v", err)
	}
	// Two answers a connection: 8 requests, a redirect followed on a
	// connection of its own, the huge header's connection given up.
	if n := conns.Load(); n < 4 || n > 7 {
		t.Errorf("%d connections", n)
	}
}

// A dead host fails every file of the batch with the error Get gives,
// after one more try.
func TestGetBatchUnreachable(t *testing.T) {
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := l.Addr().String()
	l.Close()
	d, _ := dial.New("")
	c := (&httpsrc.Source{Dialer: d}).Conn(0)
	defer c.Close()
	urls := []string{"http://" + addr + "/a", "http://" + addr + "/b"}
	_, errs := batch(t, c, urls)
	for _, u := range urls {
		var tr *fetch.TransientError
		if err := errs[u]; err == nil || !asTransient(err, &tr) || !tr.Conn || !strings.Contains(err.Error(), "connection refused") {
			t.Errorf("%s: %v", u, err)
		}
	}
}

func asTransient(err error, tr **fetch.TransientError) bool {
	e, ok := err.(*fetch.TransientError)
	*tr = e
	return ok
}

// Interim answers (103 Early Hints, 100 Continue) are skipped: every file
// gets its own answer, none the one before it.
func TestGetBatchInterimAnswers(t *testing.T) {
	base := "http://" + fetchtest.Listen(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		for {
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			body := "body of " + req.URL.Path
			fmt.Fprintf(c, "HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\nHTTP/1.1 100 Continue\r\n\r\n"+
				"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
		}
	})
	d, _ := dial.New("")
	c := (&httpsrc.Source{Dialer: d}).Conn(0)
	defer c.Close()
	urls := []string{base + "/f1", base + "/f2", base + "/f3", base + "/f4"}
	got, errs := batch(t, c, urls)
	for _, u := range urls {
		if want := "body of " + u[len(base):]; string(got[u]) != want || errs[u] != nil {
			t.Errorf("%s: %q %v, want %q", u, got[u], errs[u], want)
		}
	}
}

// One request's error is its own: a URL that does not parse fails alone,
// and a dead host fails its own files, not those of a live one after it.
func TestGetBatchBlamesOnlyItsOwn(t *testing.T) {
	live, _ := rawPipeServer(t, 100, func(p string) string {
		return fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(p), p)
	})
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := "http://" + l.Addr().String()
	l.Close()
	d, _ := dial.New("")
	c := (&httpsrc.Source{Dialer: d}).Conn(0)
	defer c.Close()
	urls := []string{live + "/%zz", live + "/a", dead + "/b", dead + "/c", live + "/d"}
	got, errs := batch(t, c, urls)
	for _, u := range []string{live + "/a", live + "/d"} {
		if string(got[u]) != u[len(live):] || errs[u] != nil {
			t.Errorf("%s: %q %v", u, got[u], errs[u])
		}
	}
	if err := errs[live+"/%zz"]; err == nil || !strings.Contains(err.Error(), "invalid URL escape") {
		t.Errorf("bad URL: %v", err)
	}
	for _, u := range []string{dead + "/b", dead + "/c"} {
		if err := errs[u]; err == nil || !strings.Contains(err.Error(), "connection refused") || !strings.Contains(err.Error(), dead) {
			t.Errorf("%s: %v", u, err)
		}
	}
}

// A batch the caller stops (the stall watch, the job ending) returns the
// cause at once, and blames no file.
func TestGetBatchStopped(t *testing.T) {
	base := "http://" + fetchtest.Listen(t, func(c net.Conn) { io.Copy(io.Discard, c) }) // never answers
	d, _ := dial.New("")
	c := (&httpsrc.Source{Dialer: d}).Conn(0)
	defer c.Close()
	ctx, cancel := context.WithCancelCause(t.Context())
	stop := errors.New("stalled")
	time.AfterFunc(200*time.Millisecond, func() { cancel(stop) })
	reqs := []fetch.Request{{URL: base + "/a", Size: -1}, {URL: base + "/b", Size: -1}}
	err := c.(*httpsrc.Conn).GetBatch(ctx, reqs, func(i int, s *fetch.Stream, err error) error {
		t.Errorf("file %d handed over: %v", i, err)
		return nil
	})
	if !errors.Is(err, stop) {
		t.Fatalf("GetBatch: %v, want the cause", err)
	}
}

// A kept connection the server has closed since the last batch costs
// nothing but a new one: the next batch comes whole.
func TestGetBatchKeptConnectionClosed(t *testing.T) {
	base, conns := rawPipeServer(t, 3, func(p string) string {
		return fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(p), p)
	})
	d, _ := dial.New("")
	c := (&httpsrc.Source{Dialer: d}).Conn(0)
	defer c.Close()
	for round := range 3 {
		urls := []string{base + fmt.Sprintf("/r%d/a", round), base + fmt.Sprintf("/r%d/b", round), base + fmt.Sprintf("/r%d/c", round)}
		got, errs := batch(t, c, urls)
		for _, u := range urls {
			if string(got[u]) != u[len(base):] || errs[u] != nil {
				t.Errorf("round %d: %s: %q %v", round, u, got[u], errs[u])
			}
		}
		time.Sleep(20 * time.Millisecond) // the server's close is in
	}
	if n := conns.Load(); n != 3 {
		t.Errorf("%d connections, want 3 (one a batch: the server closes after three answers)", n)
	}
}
