package demo

import (
	"encoding/base64"
	"io"
	"net/http"
	"path"
	"strconv"
	"strings"
)

// serveHTTP serves /dump/<path> with ranges, and nginx-style listings of
// every folder.
func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	s.requests.Add(1)
	if _, ok := r.Header["Range"]; ok {
		s.ranges.Add(1)
	}
	w.Header().Set("Server", "nginx")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		nginxError(w, http.StatusMethodNotAllowed)
		return
	}
	p := r.URL.Path
	if p == "/dump" {
		redirect(w, "")
		return
	}
	rel, ok := strings.CutPrefix(p, "/dump/")
	if !ok {
		nginxError(w, http.StatusNotFound)
		return
	}
	if rel == "" || strings.HasSuffix(rel, "/") {
		name := strings.TrimSuffix(rel, "/")
		d, ok := s.dump.dirs[name]
		if !ok || (rel != "" && name == "") {
			nginxError(w, http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write(autoindex(p, d))
		return
	}
	if i, ok := s.dump.index[rel]; ok {
		s.serveFile(w, r, i)
		return
	}
	if _, ok := s.dump.dirs[rel]; ok {
		redirect(w, rel)
		return
	}
	nginxError(w, http.StatusNotFound)
}

// redirect sends a folder's URL without its trailing slash to the URL
// with it, as nginx does.
func redirect(w http.ResponseWriter, rel string) {
	loc := "/dump/"
	if rel != "" {
		loc += EscapePath(rel) + "/"
	}
	w.Header().Set("Location", loc)
	nginxError(w, http.StatusMovedPermanently)
}

func (s *Server) serveFile(w http.ResponseWriter, r *http.Request, i int) {
	f := s.dump.files[i]
	h := w.Header()
	h.Set("Content-Type", contentType(f.Path))
	h.Set("ETag", s.dump.etag(i))
	if s.model.Digest {
		sum := s.dump.sha256Of(i)
		h.Set("Repr-Digest", "sha-256=:"+base64.StdEncoding.EncodeToString(sum[:])+":")
	}
	st, _ := r.Context().Value(streamKey{}).(*stream)
	fw := &faultWriter{ResponseWriter: w, r: r, srv: s, st: st}
	http.ServeContent(fw, r, "", f.ModTime, io.NewSectionReader(s.dump.content(i), 0, f.Size))
}

// faultWriter passes a response through, and when the stream's generator
// draws a stall or a cut for this body, delivers only the bytes before the
// drawn point and then stalls or cuts.
type faultWriter struct {
	http.ResponseWriter
	r   *http.Request
	srv *Server
	st  *stream

	wroteHeader bool
	isBody      bool  // writes are a file's bytes (a 200 or 206 answer to GET)
	armed       bool  // a fault waits at left bytes from here
	cut         bool  // the fault is a cut, else a stall
	left        int64 // body bytes still delivered before the fault
	tripped     bool
}

func (f *faultWriter) WriteHeader(code int) {
	if f.wroteHeader {
		return
	}
	f.wroteHeader = true
	if (code == http.StatusOK || code == http.StatusPartialContent) && f.r.Method != http.MethodHead && f.st != nil {
		f.isBody = true
		if n, err := strconv.ParseInt(f.Header().Get("Content-Length"), 10, 64); err == nil && n > 0 {
			f.armed, f.cut, f.left = f.st.drawFault(n)
		}
	}
	f.ResponseWriter.WriteHeader(code)
}

func (f *faultWriter) Write(p []byte) (int, error) {
	if !f.wroteHeader {
		f.WriteHeader(http.StatusOK)
	}
	if f.tripped {
		return 0, errFault
	}
	if !f.armed || int64(len(p)) < f.left {
		if f.armed {
			f.left -= int64(len(p))
		}
		return f.body(p)
	}
	n, err := f.body(p[:f.left])
	if err != nil {
		return n, err
	}
	f.tripped = true
	f.trip()
	return n, errFault
}

// body writes p, and when it is a file's bytes, marks where they lie in
// the stream so that pump counts them in Stats.BodyBytes as it delivers
// them. The flushes make the marks exact: headers go out before the mark,
// and the body is all in the pipe before the end mark.
func (f *faultWriter) body(p []byte) (int, error) {
	if !f.isBody {
		return f.ResponseWriter.Write(p)
	}
	rc := http.NewResponseController(f.ResponseWriter)
	if err := rc.Flush(); err != nil {
		return 0, err
	}
	f.st.bodyStart()
	n, err := f.ResponseWriter.Write(p)
	if err == nil {
		err = rc.Flush()
	}
	f.st.bodyEnd()
	return n, err
}

// trip flushes what was written and then cuts the stream or stalls until
// the client goes away.
func (f *faultWriter) trip() {
	if f.cut {
		f.srv.cuts.Add(1)
	} else {
		f.srv.stalls.Add(1)
	}
	rc := http.NewResponseController(f.ResponseWriter)
	_ = rc.Flush()
	if f.cut {
		conn, _, err := rc.Hijack()
		if err != nil {
			panic(http.ErrAbortHandler)
		}
		conn.Close()
		return
	}
	select {
	case <-f.r.Context().Done():
	case <-f.st.done:
	case <-f.srv.done:
	}
}

// nginxError writes an error page in nginx's layout.
func nginxError(w http.ResponseWriter, code int) {
	text := strconv.Itoa(code) + " " + http.StatusText(code)
	w.Header().Set("Content-Type", "text/html")
	w.WriteHeader(code)
	_, _ = io.WriteString(w, "<html>\r\n<head><title>"+text+"</title></head>\r\n<body>\r\n<center><h1>"+
		text+"</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n")
}

// contentType follows nginx's default mime.types for the kinds in a breach
// dump; anything else is application/octet-stream.
func contentType(p string) string {
	switch strings.ToLower(path.Ext(p)) {
	case ".jpg", ".jpeg":
		return "image/jpeg"
	case ".tif", ".tiff":
		return "image/tiff"
	case ".pdf":
		return "application/pdf"
	case ".zip":
		return "application/zip"
	case ".7z":
		return "application/x-7z-compressed"
	case ".docx":
		return "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
	case ".xlsx":
		return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
	case ".txt":
		return "text/plain"
	case ".html", ".htm":
		return "text/html"
	}
	return "application/octet-stream"
}
