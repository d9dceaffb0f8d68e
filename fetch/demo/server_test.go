package demo

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/proxy"
)

// fastModel keeps the model's structure but makes it quick: tests check
// behaviour, not timing.
func fastModel() Model {
	return Model{Median: 50e6, Sigma: 0.8, RTT: 2 * time.Millisecond, Build: 5 * time.Millisecond, Seed: 7}
}

var testTime = time.Date(2026, time.November, 23, 10, 0, 0, 0, time.UTC)

func testDump() *Dump {
	return NewDump(11, []File{
		{Path: "big.bin", Size: 3*blockSize + 4321, ModTime: testTime},
		{Path: "photos/plates/IMG_0001.JPG", Size: 5000, ModTime: testTime},
		{Path: "documents/Passport scans & co.pdf", Size: 777, ModTime: testTime},
		{Path: "empty.txt", Size: 0, ModTime: testTime},
	})
}

func startServer(t testing.TB, d *Dump, m Model) *Server {
	t.Helper()
	srv, err := Start(context.Background(), d, m)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv
}

// socksClient returns an HTTP client that reaches srv through its proxy as
// the given SOCKS identity ("" for no authentication).
func socksClient(t testing.TB, srv *Server, user, pass string, keepAlive bool) *http.Client {
	t.Helper()
	var auth *proxy.Auth
	if user != "" {
		auth = &proxy.Auth{User: user, Password: pass}
	}
	d, err := proxy.SOCKS5("tcp", srv.SOCKSAddr(), auth, proxy.Direct)
	if err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{DialContext: d.(proxy.ContextDialer).DialContext, DisableKeepAlives: !keepAlive}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

func get(t testing.TB, c *http.Client, url string, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: read body: %v", url, err)
	}
	return resp, body
}

func TestFetchThroughSOCKS(t *testing.T) {
	d := testDump()
	m := fastModel()
	m.Digest = true
	srv := startServer(t, d, m)
	c := socksClient(t, srv, "alice", "x", true)

	urls := srv.URLs()
	wantURLs := []string{
		srv.BaseURL() + "big.bin",
		srv.BaseURL() + "documents/Passport%20scans%20%26%20co.pdf",
		srv.BaseURL() + "empty.txt",
		srv.BaseURL() + "photos/plates/IMG_0001.JPG",
	}
	if strings.Join(urls, "\n") != strings.Join(wantURLs, "\n") {
		t.Fatalf("URLs() =\n%s\nwant\n%s", strings.Join(urls, "\n"), strings.Join(wantURLs, "\n"))
	}
	types := []string{"application/octet-stream", "application/pdf", "text/plain", "image/jpeg"}
	for i, f := range d.Files() {
		resp, body := get(t, c, urls[i])
		if ct := resp.Header.Get("Content-Type"); ct != types[i] {
			t.Errorf("%s: Content-Type %q, want %q", f.Path, ct, types[i])
		}
		want := readAll(t, d, f.Path)
		if resp.StatusCode != http.StatusOK || !bytes.Equal(body, want) {
			t.Fatalf("%s: status %d, %d bytes (identical: %v), want 200 and %d bytes",
				f.Path, resp.StatusCode, len(body), bytes.Equal(body, want), len(want))
		}
		sum := sha256.Sum256(want)
		for k, v := range map[string]string{
			"Etag":          d.etag(i),
			"Last-Modified": "Mon, 23 Nov 2026 10:00:00 GMT",
			"Accept-Ranges": "bytes",
			"Repr-Digest":   "sha-256=:" + base64.StdEncoding.EncodeToString(sum[:]) + ":",
			"Server":        "nginx",
		} {
			if got := resp.Header.Get(k); got != v {
				t.Errorf("%s: %s = %q, want %q", f.Path, k, got, v)
			}
		}
	}
	if !strings.HasPrefix(d.etag(0), `"`) || len(d.etag(0)) != 22 {
		t.Errorf("etag %s is not a quoted 20-hex string", d.etag(0))
	}
	st := srv.Stats()
	if st.Requests != 4 || st.RangeRequests != 0 || st.Streams != 1 || len(st.Circuits) != 1 ||
		st.Circuits[0].ID != "alice:x" || st.Circuits[0].Streams != 1 {
		t.Errorf("stats after 4 keep-alive requests: %+v", st)
	}
	if st.BytesSent <= d.TotalSize() || st.Circuits[0].Bytes != st.BytesSent {
		t.Errorf("BytesSent %d, circuit bytes %d, content %d", st.BytesSent, st.Circuits[0].Bytes, d.TotalSize())
	}
}

func TestRanges(t *testing.T) {
	d := testDump()
	srv := startServer(t, d, fastModel())
	c := socksClient(t, srv, "", "", true)
	want := readAll(t, d, "big.bin")
	size := int64(len(want))
	url := srv.BaseURL() + "big.bin"
	for _, r := range []struct {
		spec   string
		lo, hi int64 // inclusive
	}{
		{"bytes=0-0", 0, 0},
		{"bytes=65530-65545", 65530, 65545}, // crosses a generation block
		{"bytes=-10", size - 10, size - 1},
		{fmt.Sprintf("bytes=%d-", size-100), size - 100, size - 1},
		{fmt.Sprintf("bytes=100-%d", size+500), 100, size - 1},
	} {
		resp, body := get(t, c, url, "Range", r.spec)
		cr := fmt.Sprintf("bytes %d-%d/%d", r.lo, r.hi, size)
		if resp.StatusCode != http.StatusPartialContent || resp.Header.Get("Content-Range") != cr ||
			!bytes.Equal(body, want[r.lo:r.hi+1]) {
			t.Errorf("Range %s: status %d, Content-Range %q (want %q), %d bytes, identical %v",
				r.spec, resp.StatusCode, resp.Header.Get("Content-Range"), cr, len(body), bytes.Equal(body, want[r.lo:r.hi+1]))
		}
	}
	resp, _ := get(t, c, url, "Range", fmt.Sprintf("bytes=%d-", size))
	if resp.StatusCode != http.StatusRequestedRangeNotSatisfiable || resp.Header.Get("Content-Range") != fmt.Sprintf("bytes */%d", size) {
		t.Errorf("unsatisfiable range: %d, Content-Range %q", resp.StatusCode, resp.Header.Get("Content-Range"))
	}
	// If-Range with a stale validator gets the whole file; with the current
	// ETag, the range.
	resp, body := get(t, c, url, "Range", "bytes=10-19", "If-Range", `"stale"`)
	if resp.StatusCode != http.StatusOK || !bytes.Equal(body, want) {
		t.Errorf("stale If-Range: %d, %d bytes", resp.StatusCode, len(body))
	}
	resp, body = get(t, c, url, "Range", "bytes=10-19", "If-Range", resp.Header.Get("Etag"))
	if resp.StatusCode != http.StatusPartialContent || !bytes.Equal(body, want[10:20]) {
		t.Errorf("current If-Range: %d, %q", resp.StatusCode, body)
	}
	if st := srv.Stats(); st.Requests != 8 || st.RangeRequests != 8 {
		t.Errorf("Requests %d, RangeRequests %d; want 8, 8", st.Requests, st.RangeRequests)
	}
}

func TestListingsAndErrors(t *testing.T) {
	d := testDump()
	srv := startServer(t, d, fastModel())
	c := socksClient(t, srv, "bob", "", true)
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

	resp, body := get(t, c, srv.BaseURL())
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/html" {
		t.Fatalf("root listing: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	rows := strings.Split(string(body), "\r\n")
	want := []string{
		`<a href="documents/">documents/</a>                                         23-Nov-2026 10:00                   -`,
		`<a href="photos/">photos/</a>                                            23-Nov-2026 10:00                   -`,
		fmt.Sprintf(`<a href="big.bin">big.bin</a>                                            23-Nov-2026 10:00 %19d`, 3*blockSize+4321),
		`<a href="empty.txt">empty.txt</a>                                          23-Nov-2026 10:00                   0`,
	}
	if len(rows) != 11 || strings.Join(rows[4:8], "\n") != strings.Join(want, "\n") {
		t.Errorf("root listing rows:\n%s\nwant\n%s", strings.Join(rows, "\n"), strings.Join(want, "\n"))
	}
	_, body = get(t, c, srv.BaseURL()+"documents/")
	if !strings.Contains(string(body), `<a href="Passport%20scans%20%26%20co.pdf">Passport scans &amp; co.pdf</a>`) ||
		!strings.Contains(string(body), "<title>Index of /dump/documents/</title>") {
		t.Errorf("documents listing:\n%s", body)
	}
	_, body = get(t, c, srv.BaseURL()+"photos/plates/")
	if !strings.Contains(string(body), "<a href=\"IMG_0001.JPG\">IMG_0001.JPG</a>") || !strings.Contains(string(body), " 5000\r\n") {
		t.Errorf("plates listing:\n%s", body)
	}

	for _, c2 := range []struct {
		path, method string
		code         int
		location     string
	}{
		{"/dump/photos", "GET", 301, "/dump/photos/"},
		{"/dump", "GET", 301, "/dump/"},
		{"/dump/nope", "GET", 404, ""},
		{"/dump/big.bin/", "GET", 404, ""},
		{"/dump//", "GET", 404, ""},
		{"/", "GET", 404, ""},
		{"/dump/big.bin", "POST", 405, ""},
	} {
		req, _ := http.NewRequest(c2.method, "http://"+srv.Host()+c2.path, nil)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		text := fmt.Sprintf("%d %s", c2.code, http.StatusText(c2.code))
		if resp.StatusCode != c2.code || resp.Header.Get("Location") != c2.location ||
			!strings.Contains(string(b), "<center><h1>"+text+"</h1></center>\r\n<hr><center>nginx</center>") {
			t.Errorf("%s %s: %d Location %q body %q", c2.method, c2.path, resp.StatusCode, resp.Header.Get("Location"), b)
		}
	}
	// HEAD gives the headers and no body.
	req, _ := http.NewRequest(http.MethodHead, srv.BaseURL()+"big.bin", nil)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.ContentLength != 3*blockSize+4321 {
		t.Errorf("HEAD: %d, length %d", resp.StatusCode, resp.ContentLength)
	}
}

func TestConnectElsewhere(t *testing.T) {
	srv := startServer(t, testDump(), fastModel())
	d, err := proxy.SOCKS5("tcp", srv.SOCKSAddr(), nil, proxy.Direct)
	if err != nil {
		t.Fatal(err)
	}
	_, err = d.Dial("tcp", "example.invalid:80")
	if err == nil || !strings.Contains(err.Error(), "host unreachable") {
		t.Errorf("dial elsewhere: %v, want host unreachable", err)
	}
	if st := srv.Stats(); st.Streams != 0 || len(st.Circuits) != 0 {
		t.Errorf("a refused CONNECT made a stream or circuit: %+v", st)
	}
}

// rawSOCKS sends a greeting and a request and returns the reply code.
func rawSOCKS(t *testing.T, addr string, greeting, request []byte) []byte {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write(append(greeting, request...)); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(conn) // the server closes after a failure
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestSOCKSReplies(t *testing.T) {
	m := fastModel()
	m.UnknownOnion = 0xf2
	srv := startServer(t, testDump(), m)
	domain := func(cmd byte, host string, port byte) []byte {
		return append(append([]byte{5, cmd, 0, 3, byte(len(host))}, host...), 0, port)
	}
	noAuth := []byte{5, 1, 0}
	for _, c := range []struct {
		name              string
		greeting, request []byte
		want              []byte
	}{
		{"GSSAPI only", []byte{5, 1, 1}, nil, []byte{5, 0xff}},
		{"BIND", noAuth, domain(2, srv.Host(), 80), []byte{5, 0, 5, 7, 0, 1, 0, 0, 0, 0, 0, 0}},
		{"other onion", noAuth, domain(1, onionName(99), 80), []byte{5, 0, 5, 0xf2, 0, 1, 0, 0, 0, 0, 0, 0}},
		{"bad onion", noAuth, domain(1, "x.onion", 80), []byte{5, 0, 5, 0xf6, 0, 1, 0, 0, 0, 0, 0, 0}},
		{"our onion, port 187", noAuth, domain(1, srv.Host(), 187), []byte{5, 0, 5, 5, 0, 1, 0, 0, 0, 0, 0, 0}},
		{"IPv4", noAuth, []byte{5, 1, 0, 1, 127, 0, 0, 1, 0, 80}, []byte{5, 0, 5, 4, 0, 1, 0, 0, 0, 0, 0, 0}},
		{"ATYP 7", noAuth, []byte{5, 1, 0, 7}, []byte{5, 0, 5, 8, 0, 1, 0, 0, 0, 0, 0, 0}},
	} {
		if got := rawSOCKS(t, srv.SOCKSAddr(), c.greeting, c.request); !bytes.Equal(got, c.want) {
			t.Errorf("%s: server sent %x, want %x", c.name, got, c.want)
		}
	}
}

func TestCircuitsFollowIdentities(t *testing.T) {
	d := testDump()
	m := fastModel()
	srv := startServer(t, d, m)
	url := srv.BaseURL() + "photos/plates/IMG_0001.JPG"
	a := socksClient(t, srv, "a", "", false)
	b := socksClient(t, srv, "b", "1", false)
	anon := socksClient(t, srv, "", "", false)
	get(t, a, url)
	get(t, b, url)
	get(t, a, url) // no keep-alive: a second stream on circuit "a"
	get(t, anon, url)
	waitIdle(t, srv) // streams close asynchronously, as in a real proxy
	st := srv.Stats()
	var got []string
	for _, c := range st.Circuits {
		got = append(got, fmt.Sprintf("%s streams=%d open=%d builds=%d speed-ok=%v", c.ID, c.Streams, c.Open, c.Builds,
			c.Speed == m.CircuitSpeed(c.ID, 1)))
	}
	want := []string{
		"a streams=2 open=0 builds=1 speed-ok=true",
		"b:1 streams=1 open=0 builds=1 speed-ok=true",
		"anonymous streams=1 open=0 builds=1 speed-ok=true",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("circuits:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if st.Streams != 4 {
		t.Errorf("Streams = %d, want 4", st.Streams)
	}
}

// waitIdle waits until no stream is open: closing is asynchronous, as in a
// real proxy. It is not a timing assertion; it fails only after 10 s.
func waitIdle(t testing.TB, srv *Server) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		srv.mu.Lock()
		n := len(srv.streams)
		srv.mu.Unlock()
		if n == 0 {
			return
		}
	}
	t.Fatal("streams still open after 10 s")
}

func TestCircuitSpeedsAreSeeded(t *testing.T) {
	m := DefaultModel()
	m.Seed = 5
	s1, s2 := m.CircuitSpeed("alice", 1), m.CircuitSpeed("alice", 2)
	if s1 != m.CircuitSpeed("alice", 1) || s1 == s2 || s1 == m.CircuitSpeed("bob", 1) {
		t.Errorf("speeds not a function of (seed, id, build): %v %v %v", s1, s2, m.CircuitSpeed("bob", 1))
	}
	m2 := m
	m2.Seed = 6
	if m2.CircuitSpeed("alice", 1) == s1 {
		t.Error("speed did not change with the seed")
	}
	m.Sigma = 50 // every draw hits a clamp
	for i := range 20 {
		if s := m.CircuitSpeed(fmt.Sprint(i), 1); s != m.Median/50 && s != m.Median*20 {
			t.Fatalf("speed %v not clamped to [%v, %v]", s, m.Median/50, m.Median*20)
		}
	}
	m.Median = 0
	if s := m.CircuitSpeed("alice", 1); s != 0 {
		t.Errorf("unpaced model gave speed %v", s)
	}
}

func TestCircuitRebuiltWhenIdle(t *testing.T) {
	m := fastModel()
	m.CircuitIdle = time.Millisecond
	srv := startServer(t, testDump(), m)
	c := socksClient(t, srv, "idler", "", false)
	url := srv.BaseURL() + "empty.txt"
	get(t, c, url)
	waitIdle(t, srv)
	time.Sleep(10 * time.Millisecond) // longer than CircuitIdle
	get(t, c, url)
	cs := srv.Stats().Circuits
	if len(cs) != 1 || cs[0].Builds != 2 || cs[0].Speed != m.CircuitSpeed("idler", 2) {
		t.Errorf("circuits after an idle gap: %+v", cs)
	}
}

// faultPoint is where the model puts the fault of the n-th stream of a
// circuit for a body of size bytes.
func faultPoint(m Model, id string, n int, size int64) int64 {
	r := m.rng("faults", id, uint64(n))
	r.Float64()
	r.Float64()
	return r.Int64N(size)
}

func TestCutEndsBodyEarly(t *testing.T) {
	d := testDump()
	m := fastModel()
	m.CutProb = 1
	srv := startServer(t, d, m)
	c := socksClient(t, srv, "cutme", "", false)
	want := readAll(t, d, "big.bin")
	resp, err := c.Get(srv.BaseURL() + "big.bin")
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	at := faultPoint(m, "cutme", 1, int64(len(want)))
	if !errors.Is(err, io.ErrUnexpectedEOF) || int64(len(body)) != at || !bytes.Equal(body, want[:at]) {
		t.Fatalf("cut body: %d bytes (want %d, a prefix: %v), err %v (want unexpected EOF)",
			len(body), at, bytes.Equal(body, want[:len(body)]), err)
	}
	if st := srv.Stats(); st.Cuts != 1 || st.Stalls != 0 {
		t.Errorf("Cuts %d, Stalls %d", st.Cuts, st.Stalls)
	}
	// Listings are never cut.
	if resp, body := get(t, c, srv.BaseURL()); resp.StatusCode != 200 || !strings.HasSuffix(string(body), "</html>\r\n") {
		t.Errorf("listing under CutProb 1: %d %q", resp.StatusCode, body)
	}
}

func TestStallStopsDelivering(t *testing.T) {
	d := testDump()
	m := fastModel()
	m.StallProb = 1
	srv := startServer(t, d, m)
	want := readAll(t, d, "big.bin")
	at := faultPoint(m, "staller", 1, int64(len(want)))

	dialer, err := proxy.SOCKS5("tcp", srv.SOCKSAddr(), &proxy.Auth{User: "staller"}, proxy.Direct)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := dialer.Dial("tcp", srv.Host()+":80")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET /dump/big.bin HTTP/1.1\r\nHost: %s\r\n\r\n", srv.Host())
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := make([]byte, at)
	if _, err := io.ReadFull(resp.Body, got); err != nil || !bytes.Equal(got, want[:at]) {
		t.Fatalf("first %d bytes: %v, identical %v", at, err, bytes.Equal(got, want[:at]))
	}
	// Nothing more comes, yet the stream stays open.
	_ = conn.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	n, err := resp.Body.Read(make([]byte, 1))
	if n != 0 || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read after the stall point: %d bytes, %v; want a timeout", n, err)
	}
	if st := srv.Stats(); st.Stalls != 1 || st.Cuts != 0 || st.Circuits[0].Open != 1 {
		t.Errorf("stats during the stall: %+v", st)
	}
	conn.Close()
	waitIdle(t, srv) // the stalled handler ends when the client goes
}

func TestDirectHTTP(t *testing.T) {
	d := testDump()
	m := fastModel()
	srv := startServer(t, d, m)
	if !strings.HasPrefix(srv.HTTPURL(), "http://127.0.0.1:") || !strings.HasSuffix(srv.HTTPURL(), "/dump/") {
		t.Fatalf("HTTPURL() = %q", srv.HTTPURL())
	}
	tr := &http.Transport{Proxy: nil}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr}
	resp, body := get(t, c, srv.HTTPURL()+"big.bin", "Range", "bytes=100-199")
	if want := readAll(t, d, "big.bin")[100:200]; resp.StatusCode != 206 || !bytes.Equal(body, want) {
		t.Errorf("direct range: %d, identical %v", resp.StatusCode, bytes.Equal(body, want))
	}
	resp, body = get(t, c, srv.HTTPURL()+"documents/Passport%20scans%20%26%20co.pdf")
	if resp.StatusCode != 200 || !bytes.Equal(body, readAll(t, d, "documents/Passport scans & co.pdf")) {
		t.Errorf("direct escaped path: %d", resp.StatusCode)
	}
	cs := srv.Stats().Circuits
	if len(cs) != 1 || cs[0].ID != "direct-1" || !cs[0].Direct || cs[0].Streams != 1 || cs[0].Builds != 1 ||
		cs[0].Speed != m.CircuitSpeed("direct-1", 1) {
		t.Errorf("direct circuits: %+v", cs)
	}
}

func TestTimelineAddsUpToStats(t *testing.T) {
	d := testDump()
	srv := startServer(t, d, fastModel())
	for _, u := range []string{"u1", "u2"} {
		get(t, socksClient(t, srv, u, "", false), srv.BaseURL()+"big.bin")
	}
	waitIdle(t, srv)
	st := srv.Stats()
	tl := srv.Timeline(250 * time.Millisecond) // rounded up to 300 ms
	var total int64
	per := map[string]int64{}
	for i, s := range tl {
		if s.Start != time.Duration(i)*300*time.Millisecond {
			t.Fatalf("sample %d starts at %v", i, s.Start)
		}
		var sum int64
		for id, b := range s.Circuits {
			per[id] += b
			sum += b
		}
		if sum != s.Total {
			t.Fatalf("sample %d: circuits sum to %d, Total %d", i, sum, s.Total)
		}
		total += s.Total
	}
	if total != st.BytesSent || per["u1"] != st.Circuits[0].Bytes || per["u2"] != st.Circuits[1].Bytes {
		t.Errorf("timeline total %d per %v; stats %d, %+v", total, per, st.BytesSent, st.Circuits)
	}
}

func TestStartValidatesAndStopsWithContext(t *testing.T) {
	m := fastModel()
	m.CutProb = 1.5
	if _, err := Start(context.Background(), testDump(), m); !errors.Is(err, ErrBadModel) ||
		err.Error() != "start demo server: model CutProb = 1.5: bad network model" {
		t.Errorf("Start with a bad model: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := Start(ctx, testDump(), fastModel())
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	srv.Close() // waits for the shutdown the cancel started
	if c, err := net.Dial("tcp", srv.SOCKSAddr()); err == nil {
		c.Close()
		t.Error("SOCKS listener still open after the context ended")
	}
}

func TestCloseEndsEverything(t *testing.T) {
	before := runtime.NumGoroutine()
	d := testDump()
	m := fastModel()
	m.StallProb = 1
	srv, err := Start(context.Background(), d, m)
	if err != nil {
		t.Fatal(err)
	}
	// A stalled stream, an idle keep-alive stream, a half-done handshake.
	dialer, _ := proxy.SOCKS5("tcp", srv.SOCKSAddr(), nil, proxy.Direct)
	stalled, err := dialer.Dial("tcp", srv.Host()+":80")
	if err != nil {
		t.Fatal(err)
	}
	defer stalled.Close()
	fmt.Fprintf(stalled, "GET /dump/big.bin HTTP/1.1\r\nHost: x\r\n\r\n")
	if _, err := http.ReadResponse(bufio.NewReader(stalled), nil); err != nil {
		t.Fatal(err)
	}
	half, err := net.Dial("tcp", srv.SOCKSAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer half.Close()
	half.Write([]byte{5, 1})
	direct, err := net.Dial("tcp", strings.TrimPrefix(strings.TrimSuffix(srv.HTTPURL(), "/dump/"), "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer direct.Close()

	srv.Close()
	stalled.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadAll(stalled); err != nil {
		t.Errorf("stalled client after Close: %v, want EOF", err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		n := runtime.NumGoroutine()
		if n <= before {
			break
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines after Close, %d before:\n%s", n, before, buf[:runtime.Stack(buf, true)])
		}
	}
}

// BodyBytes counts the file bytes a client received: not headers,
// listings, HEAD answers or error pages, and only the delivered part of a
// cut body, across several answers on one keep-alive stream.
func TestBodyBytes(t *testing.T) {
	d := testDump()
	m := fastModel()
	srv := startServer(t, d, m)
	c := socksClient(t, srv, "body", "", true)
	size := int64(len(readAll(t, d, "big.bin")))
	var got int64
	for _, r := range []struct {
		path, rng string
		code      int
	}{
		{"", "", 200},                       // a listing
		{"big.bin", "", 200},                // a whole file
		{"big.bin", "bytes=100-199", 206},   // a range
		{"big.bin", "bytes=99999999-", 416}, // an error page
		{"nothere.bin", "", 404},            // another
		{"empty.txt", "", 200},              // no body at all
		{"photos/plates/IMG_0001.JPG", "", 200},
	} {
		var hdr []string
		if r.rng != "" {
			hdr = []string{"Range", r.rng}
		}
		resp, body := get(t, c, srv.BaseURL()+r.path, hdr...)
		if resp.StatusCode != r.code {
			t.Fatalf("GET %q %q: %d, want %d", r.path, r.rng, resp.StatusCode, r.code)
		}
		if r.code == 200 && r.path != "" || r.code == 206 {
			got += int64(len(body))
		}
	}
	req, _ := http.NewRequest(http.MethodHead, srv.BaseURL()+"big.bin", nil)
	if resp, err := c.Do(req); err != nil || resp.StatusCode != 200 {
		t.Fatalf("HEAD: %v %v", resp, err)
	}
	if want := size + 100 + 5000; got != want {
		t.Fatalf("client read %d file bytes, want %d", got, want)
	}

	m.CutProb = 1
	cut := startServer(t, d, m)
	cc := socksClient(t, cut, "cutme", "", false)
	resp, err := cc.Get(cut.BaseURL() + "big.bin")
	if err != nil {
		t.Fatal(err)
	}
	partial, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if at := faultPoint(m, "cutme", 1, size); int64(len(partial)) != at {
		t.Fatalf("cut body %d bytes, want %d", len(partial), at)
	}

	for _, s := range []*Server{srv, cut} {
		c.Transport.(*http.Transport).CloseIdleConnections()
		waitIdle(t, s)
	}
	if st := srv.Stats(); st.BodyBytes != got || st.BytesSent <= got {
		t.Errorf("BodyBytes %d, BytesSent %d; the client read %d file bytes", st.BodyBytes, st.BytesSent, got)
	}
	if st := cut.Stats(); st.BodyBytes != int64(len(partial)) {
		t.Errorf("cut: BodyBytes %d, the client read %d", st.BodyBytes, len(partial))
	}
}
