package listing

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"mime"
	"net/url"
	"strings"
	"time"
)

// Limits on the work Parse does for one body.
const (
	// MaxEntries is the largest number of entries Parse returns.
	MaxEntries = 1_000_000
	// MaxNameLen is the longest href or name Parse accepts, in bytes.
	MaxNameLen = 64 << 10
)

// Entry is one file or sub-directory of a listing. A listing may have a
// million: the URL is kept as text (url.Parse gives it back), and Name
// shares its bytes where it can.
type Entry struct {
	URL     string    // absolute: the href resolved against the listing's URL as url.URL.String writes it; fragment stripped, and the query of a folder
	Name    string    // decoded last path segment, without a trailing slash
	Size    int64     // bytes; -1 when unknown, and for directories
	ModTime time.Time // UTC; zero when unknown
	Dir     bool      // a sub-directory (href ends in "/", or the format says so)
	Approx  bool      // Size came from a rounded human form such as "1.2M", "14K", "3.5 GB"
}

// Format names the server output a listing was read as.
type Format string

// The formats Parse recognises.
const (
	FormatNginxHTML   Format = "nginx-html"
	FormatNginxJSON   Format = "nginx-json"
	FormatNginxXML    Format = "nginx-xml"
	FormatApache      Format = "apache"       // mod_autoindex without FancyIndexing: <ul><li>
	FormatApacheFancy Format = "apache-fancy" // FancyIndexing: <pre> or HTMLTable
	FormatLighttpd    Format = "lighttpd"
	FormatPython      Format = "python"
	FormatCaddy       Format = "caddy" // HTML browse template or its JSON
	FormatIIS         Format = "iis"
	FormatGeneric     Format = "generic"
)

// limits bounds one parse; tests shrink them.
type limits struct {
	entries int // unique entries returned
	links   int // anchors or items looked at
	name    int // bytes in one href or name
}

var defaultLimits = limits{entries: MaxEntries, links: 2*MaxEntries + 1024, name: MaxNameLen}

// Parse reads a listing. base is the URL the listing was fetched from
// (after redirects), contentType the response's Content-Type header value.
// It detects the format from content type and body. An empty or
// unrecognised HTML body gives no entries and FormatGeneric.
func Parse(base *url.URL, contentType string, body []byte) ([]Entry, Format, error) {
	return parse(base, contentType, body, defaultLimits)
}

func parse(base *url.URL, contentType string, body []byte, lim limits) ([]Entry, Format, error) {
	if base == nil || !base.IsAbs() || base.Host == "" {
		return nil, "", fmt.Errorf("parse listing: %w", ErrBadBase)
	}
	c := newCollector(base, lim)
	var (
		f   Format
		err error
	)
	switch sniff(contentType, body) {
	case kindJSON:
		f, err = parseJSON(c, body)
	case kindXML:
		f, err = FormatNginxXML, parseXML(c, body)
	default:
		f, err = parseHTML(c, body)
	}
	if err != nil {
		return nil, f, fmt.Errorf("parse %s listing of %s: %w", f, base.Redacted(), err)
	}
	return c.entries, f, nil
}

type kind int

const (
	kindHTML kind = iota
	kindJSON
	kindXML
)

// sniff decides how to read the body: the content type when it is
// specific, the first bytes otherwise.
func sniff(contentType string, body []byte) kind {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		mt, _, _ = strings.Cut(strings.ToLower(contentType), ";")
		mt = strings.TrimSpace(mt)
	}
	start := bytes.TrimLeft(bytes.TrimPrefix(body, []byte("\xef\xbb\xbf")), " \t\r\n")
	switch {
	case mt == "application/json" || mt == "text/json" || strings.HasSuffix(mt, "+json"),
		mt == "application/javascript" || mt == "text/javascript":
		return kindJSON
	case mt == "text/xml" || mt == "application/xml":
		if xmlRootIsList(start) {
			return kindXML
		}
		return kindHTML
	case mt == "text/html" || mt == "application/xhtml+xml":
		return kindHTML
	}
	switch {
	case bytes.HasPrefix(start, []byte("[")) || bytes.HasPrefix(start, []byte("/* callback */")):
		return kindJSON
	case xmlRootIsList(start):
		return kindXML
	}
	return kindHTML
}

// xmlRootIsList reports whether the document's first element is <list>, as
// in nginx's autoindex_format xml.
func xmlRootIsList(b []byte) bool {
	if !bytes.HasPrefix(b, []byte("<")) {
		return false
	}
	d := xml.NewDecoder(bytes.NewReader(b))
	d.Strict = false
	for range 16 {
		tok, err := d.RawToken()
		if err != nil {
			return false
		}
		if se, ok := tok.(xml.StartElement); ok {
			return se.Name.Local == "list"
		}
	}
	return false
}

// collector resolves, filters and de-duplicates entries.
type collector struct {
	base   *url.URL
	self   string // base without query and fragment
	parent string // base's parent directory
	// plain is set when a plain href (plainHref) resolves to self+href:
	// self is a folder whose URL is written as it was parsed.
	plain bool
	lim   limits
	seen  map[string]int32 // entries by URL, which the key shares
	links int
	times timeReader

	entries []Entry
}

func newCollector(base *url.URL, lim limits) *collector {
	b := stripped(base)
	c := &collector{base: base, self: b.String(), lim: lim, seen: make(map[string]int32)}
	if p := b.ResolveReference(&url.URL{Path: ".."}); p.String() != c.self {
		c.parent = p.String()
	}
	if strings.HasSuffix(c.self, "/") && b.Opaque == "" && b.Host != "" {
		probe := "x.y-z_~0"
		c.plain = b.ResolveReference(&url.URL{Path: probe}).String() == c.self+probe &&
			b.ResolveReference(&url.URL{Path: probe + "/"}).String() == c.self+probe+"/"
	}
	return c
}

// plainHref reports whether href is a relative path of unreserved
// characters (RFC 3986: letters, digits, "-._~") in non-empty segments
// other than "." and "..", the last one possibly followed by "/": what
// nginx and Python print for plain names. Such an href resolves against a
// folder to the folder's URL followed by href, without url.Parse.
func plainHref(href string) bool {
	seg := 0 // bytes in the current segment
	dots := true
	for i := 0; i < len(href); i++ {
		ch := href[i]
		switch {
		case 'a' <= ch && ch <= 'z' || 'A' <= ch && ch <= 'Z' || '0' <= ch && ch <= '9' || ch == '-' || ch == '_' || ch == '~':
			dots = false
		case ch == '.':
		case ch == '/':
			if seg == 0 || dots && seg <= 2 {
				return false
			}
			seg, dots = 0, true
			continue
		default:
			return false
		}
		seg++
	}
	if seg == 0 {
		return len(href) > 0 // "a/" ends in a slash; "" is not plain
	}
	return !(dots && seg <= 2)
}

func stripped(u *url.URL) *url.URL {
	v := *u
	v.RawQuery, v.ForceQuery, v.Fragment, v.RawFragment = "", false, "", ""
	return &v
}

// countLink counts one anchor or item looked at.
func (c *collector) countLink() error {
	c.links++
	if c.links > c.lim.links {
		return fmt.Errorf("more than %d links: %w", c.lim.links, ErrTooLarge)
	}
	return nil
}

// add resolves href and records it unless a skip rule applies. dir marks a
// directory the format identifies as such; size < 0 and a zero mod mean
// unknown.
func (c *collector) add(href string, dir bool, size int64, approx bool, mod time.Time) error {
	if len(href) > c.lim.name {
		return fmt.Errorf("href of %d bytes exceeds %d: %w", len(href), c.lim.name, ErrTooLarge)
	}
	href = strings.Trim(href, " \t\r\n\f")
	if href == "" || href[0] == '#' || href[0] == '?' {
		return nil
	}
	switch href {
	case ".", "./", "..", "../", "./..", "./../":
		return nil
	}
	key, ok := c.resolve(href, dir)
	if !ok {
		return nil
	}
	// The listing itself and its parent, with or without the trailing slash.
	if key == c.self || slashed(key, c.self) || slashed(c.self, key) || c.parent != "" && (key == c.parent || slashed(key, c.parent)) {
		return nil
	}
	isDir := strings.HasSuffix(key, "/")
	if isDir {
		size, approx = -1, false
	}
	if size < 0 {
		approx = false
	}
	if i, ok := c.seen[key]; ok {
		e := &c.entries[i]
		if e.Size < 0 && size >= 0 {
			e.Size, e.Approx = size, approx
		}
		if e.ModTime.IsZero() && !mod.IsZero() {
			e.ModTime = mod
		}
		return nil
	}
	if len(c.entries) >= c.lim.entries {
		return fmt.Errorf("more than %d entries: %w", c.lim.entries, ErrTooLarge)
	}
	if !mod.IsZero() {
		mod = mod.UTC()
	}
	c.seen[key] = int32(len(c.entries))
	c.entries = append(c.entries, Entry{
		URL:     key,
		Name:    lastSegment(escapedPath(key)),
		Dir:     isDir,
		Size:    size,
		Approx:  approx,
		ModTime: mod,
	})
	return nil
}

// resolve returns the URL href points to, as url.URL.String writes it,
// fragment stripped (and the query of a folder), with a trailing slash if
// dir; false if it
// is not a URL of the listing's own scheme with a host. A plain href
// (most of them) is appended to the folder's URL as it is.
func (c *collector) resolve(href string, dir bool) (string, bool) {
	if c.plain && plainHref(href) {
		if dir && !strings.HasSuffix(href, "/") {
			return c.self + href + "/", true
		}
		return c.self + href, true
	}
	ref, err := url.Parse(href)
	if err != nil {
		ref, err = url.Parse(repairHref(href))
		if err != nil {
			return "", false
		}
	}
	u := c.base.ResolveReference(ref)
	u.Fragment, u.RawFragment = "", ""
	if u.Scheme != c.base.Scheme || u.Host == "" { // a listing links files of its own source
		return "", false
	}
	if dir || strings.HasSuffix(u.Path, "/") || u.RawQuery == "" {
		// A folder's query only sorts or pages it; a file's
		// (get.php?file=a.jpg) may be what names it.
		u.RawQuery, u.ForceQuery = "", false
	}
	if dir && !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
		if u.RawPath != "" {
			u.RawPath += "/"
		}
	}
	return u.String(), true
}

// slashed reports whether b is a followed by "/".
func slashed(a, b string) bool {
	return len(b) == len(a)+1 && b[len(a)] == '/' && strings.HasPrefix(b, a)
}

// escapedPath is the path of an absolute URL as url.URL.String writes it
// (no fragment): what follows the host up to a query, sharing its bytes.
func escapedPath(u string) string {
	if i := strings.IndexByte(u, '?'); i >= 0 { // a "?" in a path is written %3F
		u = u[:i]
	}
	rest := u[strings.Index(u, "://")+3:]
	if i := strings.IndexByte(rest, '/'); i >= 0 { // userinfo and host have no "/" written as is
		return rest[i:]
	}
	return ""
}

// repairHref escapes what url.Parse rejects in hrefs real servers emit:
// a '%' not starting an escape, and control characters.
func repairHref(h string) string {
	var b strings.Builder
	for i := 0; i < len(h); i++ {
		ch := h[i]
		switch {
		case ch == '%' && (i+2 >= len(h) || !isHex(h[i+1]) || !isHex(h[i+2])):
			b.WriteString("%25")
		case ch < 0x20 || ch == 0x7f:
			fmt.Fprintf(&b, "%%%02X", ch)
		default:
			b.WriteByte(ch)
		}
	}
	return b.String()
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// lastSegment decodes the last segment of an escaped path, ignoring one
// trailing slash.
func lastSegment(esc string) string {
	esc = strings.TrimSuffix(esc, "/")
	seg := esc[strings.LastIndexByte(esc, '/')+1:]
	if s, err := url.PathUnescape(seg); err == nil {
		return s
	}
	return seg
}

// timeLayouts are the date forms listings print, after runs of spaces are
// collapsed to one.
var timeLayouts = []string{
	"02-Jan-2006 15:04",                   // nginx, Apache 2.2
	"2006-01-02 15:04",                    // Apache 2.4
	"2006-01-02 15:04:05",                 //
	"2006-Jan-02 15:04:05",                // lighttpd
	"02-Jan-2006 15:04:05",                //
	"1/2/2006 3:04 PM",                    // IIS en-US
	"2/1/2006 3:04 PM",                    // IIS, day first
	"1/2/2006 15:04",                      //
	"2/1/2006 15:04",                      //
	"2.1.2006 15:04",                      // IIS de-DE
	"2006/1/2 15:04",                      //
	"Monday, January 2, 2006 3:04 PM",     // IIS long date
	"Monday, January 2, 2006 15:04",       //
	time.RFC3339Nano,                      // Caddy
	"Mon, 02 Jan 2006 15:04:05 GMT",       // HTTP date (nginx JSON)
	"2006-01-02T15:04:05Z",                // nginx XML
	"01/02/2006 03:04:05 PM -07:00",       // Caddy's display text
	"Mon Jan _2 15:04:05 2006",            //
	"Mon, 02 Jan 2006 15:04:05 -0700",     //
	"Monday, 02-Jan-06 15:04:05 MST",      //
	"2006-01-02T15:04:05.999999999",       //
	"2006-01-02 15:04:05.999999999 -0700", // Python-ish
}

// timeReader reads the dates of one listing. A listing prints every date
// the same way, so it tries the layout that last worked first; failed
// time.Parse calls allocate, and a big listing has many dates.
type timeReader struct {
	layout string // last layout that matched
	fields int    // number of fields dateThenSize last took as the date
}

// parse reads one of timeLayouts; it returns the zero time on failure.
func (r *timeReader) parse(s string) time.Time {
	s = strings.Join(strings.Fields(s), " ")
	if s == "" || len(s) > 64 {
		return time.Time{}
	}
	if r.layout != "" {
		if t, err := time.Parse(r.layout, s); err == nil {
			return t.UTC()
		}
	}
	for _, l := range timeLayouts {
		if l == r.layout {
			continue
		}
		if t, err := time.Parse(l, s); err == nil {
			r.layout = l
			return t.UTC()
		}
	}
	return time.Time{}
}
