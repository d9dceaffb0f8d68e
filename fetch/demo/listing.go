package demo

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// nameColumns is the width nginx's autoindex gives to names: longer names
// are cut to nameColumns-3 characters followed by "..>".
const nameColumns = 50

// autoindex renders a folder like nginx's autoindex module in its default
// html format (exact sizes, UTC times): CRLF line ends, a "../" row, then
// one row per entry, folders first:
//
//	<a href="HREF">NAME</a>PADDING DD-Mon-YYYY HH:MM SIZE
//
// where NAME is padded with spaces to 50 columns, SIZE is right-aligned in
// 19 columns and is "-" for folders.
func autoindex(urlPath string, d *dir) []byte {
	var b strings.Builder
	title := escapeHTML(urlPath)
	b.WriteString("<html>\r\n<head><title>Index of " + title + "</title></head>\r\n<body>\r\n<h1>Index of " +
		title + "</h1><hr><pre><a href=\"../\">../</a>\r\n")
	for _, e := range d.entries {
		name, href := e.name, EscapePath(e.name)
		size := strconv.FormatInt(e.size, 10)
		if e.isDir {
			name, href, size = name+"/", href+"/", "-"
		}
		width := utf8.RuneCountInString(name)
		if width > nameColumns {
			name = string([]rune(name)[:nameColumns-3]) + "..>"
			width = nameColumns
		}
		b.WriteString("<a href=\"" + href + "\">" + escapeHTML(name) + "</a>")
		b.WriteString(strings.Repeat(" ", nameColumns-width+1))
		b.WriteString(e.modTime.UTC().Format("02-Jan-2006 15:04"))
		b.WriteString(strings.Repeat(" ", 1+max(19-len(size), 0)) + size + "\r\n")
	}
	b.WriteString("</pre><hr></body>\r\n</html>\r\n")
	return []byte(b.String())
}

// escapeHTML escapes the characters nginx escapes in listing text.
func escapeHTML(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s)
}

// EscapePath percent-escapes a slash-separated path for use in a URL or an
// href: every byte except ASCII letters, digits, "-._~!$'()*+,;=@" and "/"
// is written as %XX, so url.PathUnescape gives the path back. (":" is
// escaped so a relative href is never read as a scheme; "&" so an href
// needs no HTML escaping.)
func EscapePath(p string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(p))
	for i := 0; i < len(p); i++ {
		c := p[i]
		if safeInPath(c) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

func safeInPath(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("-._~!$'()*+,;=@/", c) >= 0
}
