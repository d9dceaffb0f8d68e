package fetchtest

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// WriteListing writes a directory listing of n files, as nginx's
// autoindex ("nginx": <pre>, padded names, dates, exact sizes) or Python's
// http.server ("python": <ul><li>) print it, for folder /dump/. File i is
// named fNNNNNNN.jpg and is 2048+i%18000 bytes (nginx only says so). It
// holds nothing in memory: a million-entry page is written as it goes.
func WriteListing(w io.Writer, format string, n int) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	switch format {
	case "nginx":
		fmt.Fprint(bw, "<html>\r\n<head><title>Index of /dump/</title></head>\r\n<body>\r\n<h1>Index of /dump/</h1><hr><pre><a href=\"../\">../</a>\r\n")
		for i := range n {
			name := fmt.Sprintf("f%07d.jpg", i)
			fmt.Fprintf(bw, "<a href=\"%s\">%s</a>%s%02d-Nov-2026 %02d:%02d %19d\r\n",
				name, name, strings.Repeat(" ", 51-len(name)), 1+i%28, i%24, i%60, 2048+i%18000)
		}
		fmt.Fprint(bw, "</pre><hr></body>\r\n</html>\r\n")
	case "python":
		fmt.Fprint(bw, "<!DOCTYPE HTML>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>Directory listing for /dump/</title>\n</head>\n<body>\n<h1>Directory listing for /dump/</h1>\n<hr>\n<ul>\n")
		for i := range n {
			name := fmt.Sprintf("f%07d.jpg", i)
			fmt.Fprintf(bw, "<li><a href=\"%s\">%s</a></li>\n", name, name)
		}
		fmt.Fprint(bw, "</ul>\n<hr>\n</body>\n</html>\n")
	default:
		return fmt.Errorf("listing format %q: nginx or python", format)
	}
	return bw.Flush()
}

// ListingHandler serves WriteListing's page of n files at /dump/ (and 404
// elsewhere), written as it is sent.
func ListingHandler(format string, n int) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/dump/" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if r.Method == http.MethodHead {
			return
		}
		WriteListing(w, format, n)
	})
}
