package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/grab-ir/grab/fetch"
	"github.com/grab-ir/grab/fetch/demo"
	"github.com/grab-ir/grab/fetch/dial"
)

// window measures one tool's run from the source's side: the demo server
// records the bytes it sends per 100 ms, so the time to the last byte is
// the same measure for every tool, in-process or not.
type window struct {
	srv   *demo.Server
	from  time.Duration // the server's clock when the run started
	start demo.Stats
}

func openWindow(srv *demo.Server) *window {
	st := srv.Stats()
	return &window{srv: srv, from: st.Elapsed, start: st}
}

// phases is where a run's time went, offsets from the window's start.
type phases struct {
	first, p10, p90, last time.Duration // first byte, 10%, 90% and last byte sent
	sent, requests        int64         // bytes (headers and bodies) and HTTP requests
	ranged                int64         // requests with a Range header
	streams, circuits     int
	speeds                float64   // sum of the circuit speeds used, bytes/s
	tail                  []float64 // speeds of the circuits still sending after 90% of the bytes, bytes/s
}

const timelineStep = 100 * time.Millisecond

// phases reads the timeline since the window opened.
func (w *window) phases() phases {
	st := w.srv.Stats()
	p := phases{
		sent:     st.BytesSent - w.start.BytesSent,
		requests: st.Requests - w.start.Requests,
		ranged:   st.RangeRequests - w.start.RangeRequests,
		streams:  st.Streams - w.start.Streams,
	}
	known := map[string]bool{}
	for _, c := range w.start.Circuits {
		known[c.ID] = true
	}
	speed := map[string]float64{}
	for _, c := range st.Circuits {
		speed[c.ID] = c.Speed
		if !known[c.ID] {
			p.circuits++
			p.speeds += c.Speed
		}
	}
	inTail := map[string]bool{}
	var total, cum int64
	tl := w.srv.Timeline(timelineStep)
	for _, s := range tl {
		if s.Start+timelineStep > w.from {
			total += s.Total
		}
	}
	at := func(s demo.Sample) time.Duration { return s.Start + timelineStep - w.from }
	for _, s := range tl {
		if s.Start+timelineStep <= w.from || s.Total == 0 {
			continue
		}
		if cum == 0 {
			p.first = max(s.Start-w.from, 0)
		}
		before := cum
		cum += s.Total
		if before < total/10 && cum >= total/10 {
			p.p10 = at(s)
		}
		if before < total*9/10 && cum >= total*9/10 {
			p.p90 = at(s)
		}
		p.last = at(s)
		if p.p90 != 0 && at(s) > p.p90 {
			for id := range s.Circuits {
				if !inTail[id] {
					inTail[id] = true
					p.tail = append(p.tail, speed[id])
				}
			}
		}
	}
	slices.Sort(p.tail)
	return p
}

// describe says where a run's time went, for the lines under the table.
func (p phases) describe(link float64, size int64) string {
	mid := "-"
	if d := (p.p90 - p.p10).Seconds(); d > 0 {
		r := 0.8 * float64(p.sent) / d
		mid = fmt.Sprintf("%.2f MB/s (%.2f of link)", r/1e6, r/link)
	}
	var tail []string
	for _, v := range p.tail {
		tail = append(tail, fmt.Sprintf("%.0f", v/1e3))
	}
	return fmt.Sprintf("first byte at %.1f s; 10%%→90%% of bytes at %s; last 10%% took %.1f s on %d circuits of [%s] kB/s; "+
		"%d requests on %d streams, %d circuits summing %.2f MB/s; source sent %s bytes for a %d-byte payload",
		p.first.Seconds(), mid, (p.last - p.p90).Seconds(), len(p.tail), strings.Join(tail, " "), p.requests, p.streams, p.circuits, p.speeds/1e6,
		groupDigits(p.sent), size)
}

// headers are the sizes of the demo's response headers, measured.
type headers struct{ partial, whole int64 }

// refetched is the share of body bytes sent beyond the payload. The demo
// counts headers and bodies together, so headers are estimated: requests
// with a Range header as a 206 answer's, the others as a 200 answer's.
func (p phases) refetched(h headers, payload int64) float64 {
	body := p.sent - p.ranged*h.partial - (p.requests-p.ranged)*h.whole
	return float64(body-payload) / float64(payload)
}

// headerSizes measures the header bytes of a 206 answer for a range in the
// middle of the file and of a 200 answer for all of it. It asks a private,
// unpaced server holding the same dump, so the measured servers' counters
// are untouched.
func headerSizes(ctx context.Context, dump *demo.Dump, path string, size int64) (headers, error) {
	srv, err := demo.Start(ctx, dump, demo.Model{})
	if err != nil {
		return headers{}, err
	}
	defer srv.Close()
	d, err := dial.New("")
	if err != nil {
		return headers{}, err
	}
	client := d.HTTPClient(dial.Identity{})
	defer client.CloseIdleConnections()
	measure := func(rng string, want int) (int64, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.HTTPURL()+demo.EscapePath(path), nil)
		if err != nil {
			return 0, err
		}
		if rng != "" {
			req.Header.Set("Range", rng)
		}
		resp, err := client.Do(req)
		if err != nil {
			return 0, fmt.Errorf("measuring header size: %w", err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want {
			return 0, fmt.Errorf("measuring header size: %s", resp.Status)
		}
		n := int64(len(resp.Proto) + 1 + len(resp.Status) + 2 + 2) // status line, blank line
		for k, vs := range resp.Header {
			for _, v := range vs {
				n += int64(len(k) + 2 + len(v) + 2)
			}
		}
		return n, nil
	}
	var h headers
	from := size / 2
	if h.partial, err = measure(fmt.Sprintf("bytes=%d-%d", from, min(from+4<<20, size)-1), http.StatusPartialContent); err != nil {
		return h, err
	}
	h.whole, err = measure("", http.StatusOK)
	return h, err
}

// sameFile checks a downloaded file against the dump's bytes.
func sameFile(got string, dump *demo.Dump, path string) error {
	r, size, ok := dump.Open(path)
	if !ok {
		return fmt.Errorf("%s is not in the dump", path)
	}
	f, err := os.Open(got)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if fi.Size() != size {
		return fmt.Errorf("%w: %s has %d bytes, the source %d", errNotIdentical, got, fi.Size(), size)
	}
	a, b := make([]byte, 1<<20), make([]byte, 1<<20)
	for off := int64(0); off < size; off += int64(len(a)) {
		n := int(min(int64(len(a)), size-off))
		if _, err := io.ReadFull(f, a[:n]); err != nil {
			return err
		}
		if _, err := r.ReadAt(b[:n], off); err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		if !bytes.Equal(a[:n], b[:n]) {
			return fmt.Errorf("%w: %s differs from the source in bytes %d-%d", errNotIdentical, got, off, off+int64(n)-1)
		}
	}
	return nil
}

// errNotIdentical makes grab bench fail: a fast download of the wrong
// bytes is worth nothing.
var errNotIdentical = errors.New("not byte-identical")

// childEnv is the environment for the tools bench runs: without proxy
// variables, so that nothing they do can leave the machine through one.
func childEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasSuffix(strings.ToLower(k), "_proxy") {
			continue
		}
		env = append(env, kv)
	}
	return env
}

// tool runs an external program to completion, or until limit.
func tool(ctx context.Context, limit time.Duration, name string, args ...string) (timedOut bool, out string, err error) {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = childEnv()
	cmd.Stdin = nil
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	err = cmd.Run()
	if ctx.Err() == context.DeadlineExceeded {
		return true, buf.String(), nil
	}
	return false, buf.String(), err
}

// groupDigits writes n with thousands separators.
func groupDigits(n int64) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0 && s[i-1] != '-'; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// benchSettings are grab's settings for a bench run: the defaults of the
// command line, benchWorkers workers, and the demo's proxy.
func benchSettings(dir string, srv *demo.Server) (*settings, map[string]bool) {
	var s settings
	s.flags("grab bench") // sets the defaults
	s.Output, s.Proxy, s.Workers = dir, "socks5h://"+srv.SOCKSAddr(), benchWorkers
	return &s, map[string]bool{"proxy": true, "workers": true}
}

// checkFiles compares every file of a job with the demo's dump and
// returns how many matched.
func checkFiles(dir string, files []fetch.File, srv *demo.Server) (int, error) {
	n := 0
	for _, f := range files {
		if f.Kind != fetch.KindFile {
			continue
		}
		rel, err := url.PathUnescape(strings.TrimPrefix(f.URL, srv.BaseURL()))
		if err != nil {
			return n, err
		}
		if err := sameFile(filepath.Join(dir, filepath.FromSlash(f.Path)), srv.Dump(), rel); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// manifestPath returns the one file listed in a finished job's
// DIR/.grab/SHA256SUMS.
func manifestPath(dir string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dir, ".grab", "SHA256SUMS"))
	if err != nil {
		return "", err
	}
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	_, p, ok := strings.Cut(lines[0], "  ")
	if len(lines) != 1 || !ok {
		return "", fmt.Errorf("want one file in %s/.grab/SHA256SUMS, got %q", dir, b)
	}
	return p, nil
}
