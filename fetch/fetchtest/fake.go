package fetchtest

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"
)

// File is one served file and how the server misbehaves for it.
type File struct {
	Data []byte
	// Versions, if set, replace Data after the given number of requests
	// for this file: Versions[0] after ChangeAfter requests.
	Versions    [][]byte
	ChangeAfter int
	NoETag      bool // validate by Last-Modified only
	NoRanges    bool // answer 200 with the whole file to every request
	ShiftRange  int64
	CutAfter    int64         // close the connection after this many body bytes of each response (0: never)
	CutTimes    int           // only the first CutTimes responses are cut (0: all)
	StallAfter  int64         // stop sending after this many body bytes, keeping the connection open
	StallTimes  int           // only the first StallTimes responses stall (0: all)
	Status      int           // answer this status to every request
	FailFirst   int           // answer 503 to the first FailFirst requests
	StopAfter   int           // answer 503 to every request after the first StopAfter (0: never)
	HoldStart   time.Duration // answers to requests in this long after the first wait until it has passed
	RetryAfter  string
	ReprDigest  bool // send Repr-Digest: sha-256 of the current version
	BadDigest   bool // ... but of other bytes
}

// Server serves Files at their paths.
type Server struct {
	*httptest.Server
	mu       sync.Mutex
	files    map[string]*File
	requests map[string]int
	ranges   []string
	sent     int64
	first    time.Time
}

// New starts a server on 127.0.0.1.
func New(files map[string]*File) *Server {
	s := &Server{files: files, requests: map[string]int{}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// URL is the address of the file at path.
func (s *Server) FileURL(path string) string { return s.Server.URL + path }

// Update changes how the file at path is served, safely while serving.
func (s *Server) Update(path string, change func(*File)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	change(s.files[path])
}

// Requests is how many requests the file at path received.
func (s *Server) Requests(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests[path]
}

// Ranges lists the Range headers received, in order ("" for none).
func (s *Server) Ranges() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.ranges...)
}

// Sent is the number of body bytes written.
func (s *Server) Sent() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sent
}

var modTime = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	fp, ok := s.files[r.URL.Path]
	var f File
	if ok {
		f = *fp
	}
	n := s.requests[r.URL.Path]
	s.requests[r.URL.Path]++
	s.ranges = append(s.ranges, r.Header.Get("Range"))
	s.mu.Unlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	if f.HoldStart > 0 {
		s.mu.Lock()
		if s.first.IsZero() {
			s.first = time.Now()
		}
		until := s.first.Add(f.HoldStart)
		s.mu.Unlock()
		time.Sleep(time.Until(until))
	}
	if f.Status != 0 {
		w.Header().Set("Retry-After", f.RetryAfter)
		w.WriteHeader(f.Status)
		return
	}
	if n < f.FailFirst || (f.StopAfter > 0 && n >= f.StopAfter) {
		if f.RetryAfter != "" {
			w.Header().Set("Retry-After", f.RetryAfter)
		}
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	data, version := f.Data, 0
	for i, v := range f.Versions {
		if n >= f.ChangeAfter*(i+1) {
			data, version = v, i+1
		}
	}
	sum := sha256.Sum256(data)
	etag := fmt.Sprintf(`"v%d-%x"`, version, sum[:4])
	lm := modTime.Add(time.Duration(version) * time.Hour).Format(http.TimeFormat)
	h := w.Header()
	if !f.NoETag {
		h.Set("ETag", etag)
	}
	h.Set("Last-Modified", lm)
	if f.ReprDigest {
		d := sum
		if f.BadDigest {
			d = sha256.Sum256([]byte("other"))
		}
		h.Set("Repr-Digest", "sha-256=:"+base64.StdEncoding.EncodeToString(d[:])+":")
	}
	size := int64(len(data))
	body := data
	status := http.StatusOK
	rng := r.Header.Get("Range")
	if ir := r.Header.Get("If-Range"); ir != "" && ir != etag && ir != lm {
		rng = "" // the file changed: send it whole
	}
	if rng != "" && !f.NoRanges {
		start, end, ok := parseRange(rng, size)
		if !ok {
			h.Set("Content-Range", "bytes */"+strconv.FormatInt(size, 10))
			w.WriteHeader(http.StatusRequestedRangeNotSatisfiable)
			return
		}
		body = data[start:end]
		start += f.ShiftRange
		h.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", start, start+int64(len(body))-1, size))
		status = http.StatusPartialContent
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	if r.Method == http.MethodHead {
		return
	}
	if f.StallAfter > 0 && int64(len(body)) > f.StallAfter && (f.StallTimes == 0 || n < f.StallTimes) {
		w.Write(body[:f.StallAfter])
		s.add(f.StallAfter)
		w.(http.Flusher).Flush()
		<-r.Context().Done() // until the client gives up
		return
	}
	if f.CutAfter > 0 && int64(len(body)) > f.CutAfter && (f.CutTimes == 0 || n < f.CutTimes) {
		w.Write(body[:f.CutAfter])
		s.add(f.CutAfter)
		w.(http.Flusher).Flush()
		panic(http.ErrAbortHandler)
	}
	w.Write(body)
	s.add(int64(len(body)))
}

func (s *Server) add(n int64) {
	s.mu.Lock()
	s.sent += n
	s.mu.Unlock()
}

// parseRange reads "bytes=A-B" or "bytes=A-" into [start, end).
func parseRange(h string, size int64) (int64, int64, bool) {
	v, ok := strings.CutPrefix(h, "bytes=")
	if !ok || strings.Contains(v, ",") {
		return 0, 0, false
	}
	a, b, _ := strings.Cut(v, "-")
	start, err := strconv.ParseInt(a, 10, 64)
	if err != nil || start >= size {
		return 0, 0, false
	}
	end := size
	if b != "" {
		last, err := strconv.ParseInt(b, 10, 64)
		if err != nil || last < start {
			return 0, 0, false
		}
		end = min(last+1, size)
	}
	return start, end, true
}

// Data returns n deterministic pseudo-random bytes for seed.
func Data(seed string, n int) []byte {
	out := make([]byte, 0, n+32)
	for i := 0; len(out) < n; i++ {
		s := sha256.Sum256([]byte(seed + strconv.Itoa(i)))
		out = append(out, s[:]...)
	}
	return out[:n]
}
