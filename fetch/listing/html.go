package listing

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"golang.org/x/net/html"
)

// Bounds on the text kept around one link; dates and sizes are short.
const (
	maxTextKept = 512
	maxCells    = 64
)

// link is one <a href> with the text around it that formats use:
// before (same line, pre formats such as IIS), after (same line: nginx,
// Apache FancyIndexing) and the table row holding it.
type link struct {
	href   string
	text   capText
	before string
	after  capText
	inPre  bool
	inList bool
	row    *row
	cell   int // index of the cell holding the link in row.cells, or -1
}

type row struct {
	cells    []*cell
	datetime string // <time datetime> in the row (Caddy)
}

type cell struct {
	class     string
	dataSize  string
	dataOrder string
	hasSize   bool
	hasOrder  bool
	text      capText
}

// capText keeps at most maxTextKept bytes: the first ones, or the last ones
// when tail is set.
type capText struct {
	b    []byte
	tail bool
}

func (t *capText) add(s []byte) {
	if t.tail {
		t.b = append(t.b, s...)
		if n := len(t.b); n > 2*maxTextKept {
			t.b = append(t.b[:0], t.b[n-maxTextKept:]...)
		}
		return
	}
	if room := maxTextKept - len(t.b); room > 0 {
		t.b = append(t.b, s[:min(room, len(s))]...)
	}
}

func (t *capText) String() string {
	if t.tail && len(t.b) > maxTextKept {
		return string(t.b[len(t.b)-maxTextKept:])
	}
	return string(t.b)
}

func (t *capText) reset() { t.b = t.b[:0] }

// signals are what format detection looks at.
type signals struct {
	title         capText
	address       capText
	pre           bool
	sortLinks     bool // Apache "?C=N;O=D"
	apacheIcons   bool // <img src="/icons/..."> or alt="[DIR]"
	parentDirText bool // Apache "Parent Directory"
	lighttpdCells int  // <td class="n|m|s">
	caddy         bool
	iisParent     bool // "[To Parent Directory]"
	iisDir        bool // "<dir>" in a <pre>
	nginxDates    int  // pre links followed by "02-Jan-2006 15:04"
	preLinks      int
	rowLinks      int
	listLinks     int
}

// walker tokenises an HTML body once and hands every link, with its
// context complete, to emit.
type walker struct {
	sig  signals
	emit func(*link) error
	lim  limits
	n    int

	preDepth  int
	listDepth int
	inTitle   bool
	inAddress bool
	inRaw     bool // <script>, <style>
	line      capText
	open      *link
	pending   *link
	row       *row
	rowLinks  []*link
	cell      *cell
}

// inlineTags do not end a line of a <pre> listing.
var inlineTags = map[string]bool{
	"img": true, "span": true, "b": true, "i": true, "u": true, "em": true,
	"strong": true, "small": true, "big": true, "font": true, "code": true,
	"tt": true, "time": true, "abbr": true, "svg": true, "path": true,
	"g": true, "circle": true, "sup": true, "sub": true, "wbr": true,
	"nobr": true, "s": true, "bdi": true, "kbd": true, "var": true,
}

func (w *walker) walk(body []byte) error {
	z := html.NewTokenizer(bytes.NewReader(body))
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			if err := z.Err(); !errors.Is(err, io.EOF) {
				return fmt.Errorf("tokenise HTML: %w", err)
			}
			return w.finish()
		case html.TextToken:
			if err := w.text(z.Text()); err != nil {
				return err
			}
		case html.StartTagToken, html.SelfClosingTagToken:
			name, hasAttr := z.TagName()
			var attrs tagAttrs
			for hasAttr {
				var k, v []byte
				k, v, hasAttr = z.TagAttr()
				if a := attrs.slot(string(k)); a != nil && !a.set {
					if len(v) > w.lim.name {
						return fmt.Errorf("attribute of %d bytes exceeds %d: %w", len(v), w.lim.name, ErrTooLarge)
					}
					a.v, a.set = string(v), true
				}
			}
			if err := w.start(string(name), &attrs, tt == html.SelfClosingTagToken); err != nil {
				return err
			}
		case html.EndTagToken:
			name, _ := z.TagName()
			if err := w.end(string(name)); err != nil {
				return err
			}
		}
	}
}

// tagAttrs are the attributes of a tag that formats look at, each the
// first of its name.
type tagAttrs struct {
	href, class, src, alt, datetime, dataSize, dataOrder attr
}

type attr struct {
	v   string
	set bool
}

// slot is where the attribute named k goes, nil for one not looked at.
func (a *tagAttrs) slot(k string) *attr {
	switch k {
	case "href":
		return &a.href
	case "class":
		return &a.class
	case "src":
		return &a.src
	case "alt":
		return &a.alt
	case "datetime":
		return &a.datetime
	case "data-size":
		return &a.dataSize
	case "data-order":
		return &a.dataOrder
	}
	return nil
}

func (w *walker) text(t []byte) error {
	switch {
	case w.inRaw:
		return nil
	case w.inTitle:
		w.sig.title.add(t)
		return nil
	}
	if w.inAddress {
		w.sig.address.add(t)
	}
	if w.cell != nil {
		w.cell.text.add(t)
	}
	if w.open != nil {
		w.open.text.add(t)
		return nil
	}
	if w.preDepth > 0 && bytes.Contains(t, []byte("<dir>")) {
		w.sig.iisDir = true
	}
	if w.pending != nil {
		i := bytes.IndexByte(t, '\n')
		if i < 0 {
			w.pending.after.add(t)
		} else {
			w.pending.after.add(t[:i])
			if err := w.finishPending(); err != nil {
				return err
			}
		}
	}
	if i := bytes.LastIndexByte(t, '\n'); i >= 0 {
		w.line.reset()
		t = t[i+1:]
	}
	w.line.add(t)
	return nil
}

func (w *walker) start(name string, attrs *tagAttrs, selfClosing bool) error {
	if !inlineTags[name] && name != "a" {
		if err := w.lineBreak(); err != nil {
			return err
		}
	}
	switch name {
	case "a":
		return w.startLink(attrs)
	case "pre":
		w.preDepth++
		w.sig.pre = true
	case "ul", "ol":
		w.listDepth++
	case "title":
		w.inTitle = !selfClosing
	case "address":
		w.inAddress = !selfClosing
	case "script", "style":
		w.inRaw = !selfClosing
	case "table":
		return w.closeRow()
	case "tr":
		if err := w.closeRow(); err != nil {
			return err
		}
		w.row = &row{}
		if hasClass(attrs.class.v, "file") {
			w.sig.caddy = true
		}
	case "td", "th":
		if w.row == nil {
			w.row = &row{}
		}
		w.cell = nil
		if len(w.row.cells) >= maxCells {
			return nil
		}
		c := &cell{class: attrs.class.v}
		c.dataSize, c.hasSize = attrs.dataSize.v, attrs.dataSize.set
		c.dataOrder, c.hasOrder = attrs.dataOrder.v, attrs.dataOrder.set
		if c.hasSize || c.hasOrder {
			w.sig.caddy = true
		}
		switch c.class {
		case "n", "m", "s":
			w.sig.lighttpdCells++
		}
		w.row.cells = append(w.row.cells, c)
		w.cell = c
	case "time":
		if w.row != nil && w.row.datetime == "" {
			w.row.datetime = attrs.datetime.v
		}
	case "img":
		if strings.Contains(attrs.src.v, "/icons/") {
			w.sig.apacheIcons = true
		}
		switch attrs.alt.v {
		case "[DIR]", "[PARENTDIR]":
			w.sig.apacheIcons = true
		}
	}
	return nil
}

func (w *walker) end(name string) error {
	if !inlineTags[name] && name != "a" {
		if err := w.lineBreak(); err != nil {
			return err
		}
	}
	switch name {
	case "a":
		if w.open != nil {
			w.pending, w.open = w.open, nil
		}
	case "pre":
		w.preDepth = max(w.preDepth-1, 0)
	case "ul", "ol":
		w.listDepth = max(w.listDepth-1, 0)
	case "title":
		w.inTitle = false
	case "address":
		w.inAddress = false
	case "script", "style":
		w.inRaw = false
	case "tr", "table", "tbody", "thead":
		return w.closeRow()
	case "td", "th":
		w.cell = nil
	}
	return nil
}

func (w *walker) startLink(attrs *tagAttrs) error {
	if err := w.closeLink(); err != nil {
		return err
	}
	if err := w.finishPending(); err != nil {
		return err
	}
	href, ok := attrs.href.v, attrs.href.set
	if !ok {
		w.open = &link{cell: -1} // collects its text so it stays off the line
		w.open.href = "\x00"
		return nil
	}
	w.n++
	if w.n > w.lim.links {
		return fmt.Errorf("more than %d links: %w", w.lim.links, ErrTooLarge)
	}
	l := &link{
		href:   href,
		before: w.line.String(),
		inPre:  w.preDepth > 0,
		inList: w.listDepth > 0,
		cell:   -1,
	}
	if w.caddyHref(href) {
		w.sig.caddy = true
	}
	if strings.HasPrefix(href, "?C=") {
		w.sig.sortLinks = true
	}
	switch {
	case w.row != nil:
		l.row = w.row
		l.cell = len(w.row.cells) - 1
		w.rowLinks = append(w.rowLinks, l)
		w.sig.rowLinks++
	case l.inPre:
		w.sig.preLinks++
	case l.inList:
		w.sig.listLinks++
	}
	w.open = l
	return nil
}

func (w *walker) caddyHref(h string) bool {
	return strings.HasPrefix(h, "https://caddyserver.com")
}

// closeLink ends the open link, as </a> or an implicit close would.
func (w *walker) closeLink() error {
	if w.open == nil {
		return nil
	}
	w.pending, w.open = w.open, nil
	return nil
}

// finishPending ends the after-text of the last link and emits it unless a
// table row still owns it.
func (w *walker) finishPending() error {
	l := w.pending
	if l == nil {
		return nil
	}
	w.pending = nil
	if l.href == "\x00" {
		return nil
	}
	text := strings.TrimSpace(l.text.String())
	switch text {
	case "Parent Directory":
		w.sig.parentDirText = true
	case "[To Parent Directory]":
		w.sig.iisParent = true
	}
	if l.inPre {
		if f := strings.Fields(l.after.String()); len(f) >= 2 {
			if _, err := time.Parse("02-Jan-2006 15:04", f[0]+" "+f[1]); err == nil {
				w.sig.nginxDates++
			}
		}
	}
	if l.row != nil {
		return nil
	}
	return w.emit(l)
}

func (w *walker) lineBreak() error {
	w.line.reset()
	if w.open != nil {
		return nil
	}
	return w.finishPending()
}

func (w *walker) closeRow() error {
	if w.row == nil {
		return nil
	}
	if err := w.closeLink(); err != nil {
		return err
	}
	if err := w.finishPending(); err != nil {
		return err
	}
	links := w.rowLinks
	w.row, w.cell, w.rowLinks = nil, nil, nil
	for _, l := range links {
		if err := w.emit(l); err != nil {
			return err
		}
	}
	return nil
}

func (w *walker) finish() error {
	if err := w.closeLink(); err != nil {
		return err
	}
	if err := w.finishPending(); err != nil {
		return err
	}
	return w.closeRow()
}

func hasClass(class, want string) bool {
	for _, c := range strings.Fields(class) {
		if c == want {
			return true
		}
	}
	return false
}

// parseHTML detects the server from a first pass over the body, then reads
// the links again with that format's rules.
func parseHTML(c *collector, body []byte) (Format, error) {
	detect := &walker{lim: c.lim, line: capText{tail: true}, emit: func(*link) error { return nil }}
	if err := detect.walk(body); err != nil {
		return FormatGeneric, err
	}
	f := detect.sig.format()
	read := &walker{lim: c.lim, line: capText{tail: true}, emit: func(l *link) error {
		return addLink(c, f, l)
	}}
	return f, read.walk(body)
}

func (s *signals) format() Format {
	title := strings.TrimSpace(s.title.String())
	switch {
	case strings.HasPrefix(title, "Directory listing for "):
		return FormatPython
	case s.iisParent || s.pre && s.iisDir:
		return FormatIIS
	case s.lighttpdCells >= 2:
		return FormatLighttpd
	case s.caddy:
		return FormatCaddy
	case s.sortLinks || s.apacheIcons || s.parentDirText ||
		strings.Contains(s.address.String(), "Apache"):
		if s.preLinks > 0 || s.rowLinks > 0 {
			return FormatApacheFancy
		}
		return FormatApache
	case s.pre && (strings.HasPrefix(title, "Index of ") || s.nginxDates > 0):
		return FormatNginxHTML
	}
	return FormatGeneric
}

// addLink applies format f's rules to one link.
func addLink(c *collector, f Format, l *link) error {
	text := strings.TrimSpace(l.text.String())
	size, approx, dir := int64(-1), false, false
	var mod time.Time
	switch f {
	case FormatNginxHTML:
		if !l.inPre {
			return nil
		}
		mod, size, approx = dateThenSize(&c.times, l.after.String())
	case FormatApache:
		if text == "Parent Directory" {
			return nil
		}
	case FormatApacheFancy:
		if text == "Parent Directory" {
			return nil
		}
		switch {
		case l.row != nil:
			mod, size, approx = dateThenSize(&c.times, cellsAfter(l))
		case l.inPre:
			mod, size, approx = dateThenSize(&c.times, l.after.String())
		default:
			return nil
		}
	case FormatLighttpd:
		if l.row == nil {
			return nil
		}
		mod, size, approx = lighttpdRow(&c.times, l)
	case FormatCaddy:
		if l.row == nil {
			return nil
		}
		mod, size = caddyRow(&c.times, l.row)
	case FormatIIS:
		if text == "[To Parent Directory]" || !l.inPre {
			return nil
		}
		mod, size, approx, dir = iisLine(&c.times, l.before)
	case FormatPython:
		if !l.inList {
			return nil
		}
	default:
		if text == "Parent Directory" || text == "[To Parent Directory]" {
			return nil
		}
	}
	return c.add(l.href, dir, size, approx, mod)
}

// dateThenSize reads "23-Nov-2026 10:00   12345" or
// "2026-11-23 10:00  1.2M  description": a date of one to three fields,
// then a size.
func dateThenSize(tr *timeReader, s string) (mod time.Time, size int64, approx bool) {
	f := strings.Fields(s)
	if len(f) > 8 {
		f = f[:8]
	}
	rest := f
	if n := tr.fields; n > 0 && n <= len(f) && tr.layout != "" {
		if t, err := time.Parse(tr.layout, strings.Join(f[:n], " ")); err == nil {
			mod, rest = t.UTC(), f[n:]
		}
	}
	if mod.IsZero() {
		for n := min(3, len(f)); n >= 1; n-- {
			if t := tr.parse(strings.Join(f[:n], " ")); !t.IsZero() {
				mod, rest, tr.fields = t, f[n:], n
				break
			}
		}
	}
	size = -1
	if len(rest) > 0 {
		if n, a, ok := ParseSize(rest[0]); ok {
			size, approx = n, a
		} else if len(rest) > 1 && !strings.ContainsAny(rest[0], "-") {
			// "12 KiB": number and unit in two fields.
			if n, a, ok := ParseSize(rest[0] + " " + rest[1]); ok {
				size, approx = n, a
			}
		}
	}
	return mod, size, approx
}

// cellsAfter joins the text of the cells after the link's own.
func cellsAfter(l *link) string {
	var b strings.Builder
	for _, c := range l.row.cells[l.cell+1:] {
		b.WriteString(c.text.String())
		b.WriteByte(' ')
	}
	return b.String()
}

// lighttpdRow reads the m (modified) and s (size) cells of a lighttpd row.
func lighttpdRow(tr *timeReader, l *link) (mod time.Time, size int64, approx bool) {
	size = -1
	found := false
	for _, c := range l.row.cells {
		switch c.class {
		case "m":
			mod, found = tr.parse(c.text.String()), true
		case "s":
			if n, a, ok := ParseSize(c.text.String()); ok {
				size, approx = n, a
			}
			found = true
		}
	}
	if !found {
		return dateThenSize(tr, cellsAfter(l))
	}
	return mod, size, approx
}

// caddyRow reads Caddy's data-size (v2.7+) or data-order (older) cell and
// the row's <time datetime>.
func caddyRow(tr *timeReader, r *row) (mod time.Time, size int64) {
	size = -1
	for _, c := range r.cells {
		v := c.dataSize
		if !c.hasSize {
			if !c.hasOrder {
				continue
			}
			v = c.dataOrder
		}
		if n, approx, ok := ParseSize(v); ok && !approx {
			size = n
		}
		break
	}
	return tr.parse(r.datetime), size
}

// iisLine reads the text IIS prints before a link:
// " 11/23/2026 10:00 AM        12345 " or "... &lt;dir&gt; ".
func iisLine(tr *timeReader, s string) (mod time.Time, size int64, approx, dir bool) {
	size = -1
	f := strings.Fields(s)
	if len(f) == 0 || len(f) > 12 {
		return mod, size, false, false
	}
	last := f[len(f)-1]
	if strings.EqualFold(last, "<dir>") {
		dir = true
	} else if n, a, ok := ParseSize(last); ok {
		size, approx = n, a
	} else {
		return tr.parse(strings.Join(f, " ")), size, false, false
	}
	return tr.parse(strings.Join(f[:len(f)-1], " ")), size, approx, dir
}
