package listing

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"time"
)

// jsonItem is the union of nginx's autoindex_format json items
// ({"name","type","mtime","size"}) and Caddy's browse JSON
// ({"name","size","url","mod_time","is_dir",...}).
type jsonItem struct {
	Name    string      `json:"name"`
	Type    string      `json:"type"`
	Mtime   string      `json:"mtime"`
	Size    json.Number `json:"size"`
	URL     *string     `json:"url"`
	ModTime *string     `json:"mod_time"`
	IsDir   *bool       `json:"is_dir"`
}

// parseJSON reads an array of items, optionally wrapped in nginx's JSONP
// form "/* callback */\r\nname([...]);".
func parseJSON(c *collector, body []byte) (Format, error) {
	body = bytes.TrimSpace(bytes.TrimPrefix(body, []byte("\xef\xbb\xbf")))
	if rest, ok := bytes.CutPrefix(body, []byte("/* callback */")); ok {
		if i := bytes.IndexByte(rest, '('); i >= 0 {
			rest = bytes.TrimSuffix(bytes.TrimSpace(rest[i+1:]), []byte(";"))
			body = bytes.TrimSuffix(bytes.TrimSpace(rest), []byte(")"))
		}
	}
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	tok, err := d.Token()
	if err != nil {
		return FormatNginxJSON, fmt.Errorf("read JSON: %v: %w", err, ErrMalformed)
	}
	if delim, ok := tok.(json.Delim); !ok || delim != '[' {
		return FormatNginxJSON, fmt.Errorf("JSON listing is not an array: %w", ErrMalformed)
	}
	f := FormatNginxJSON
	for first := true; d.More(); first = false {
		if err := c.countLink(); err != nil {
			return f, err
		}
		var it jsonItem
		if err := d.Decode(&it); err != nil {
			return f, fmt.Errorf("read JSON item %d: %v: %w", c.links, err, ErrMalformed)
		}
		if first && (it.URL != nil || it.ModTime != nil || it.IsDir != nil) {
			f = FormatCaddy
		}
		if err := addJSONItem(c, f, &it); err != nil {
			return f, err
		}
	}
	if _, err := d.Token(); err != nil && !errors.Is(err, io.EOF) {
		return f, fmt.Errorf("read JSON: %v: %w", err, ErrMalformed)
	}
	return f, nil
}

func addJSONItem(c *collector, f Format, it *jsonItem) error {
	if len(it.Name) > c.lim.name {
		return fmt.Errorf("name of %d bytes exceeds %d: %w", len(it.Name), c.lim.name, ErrTooLarge)
	}
	size := int64(-1)
	if it.Size != "" {
		if n, err := strconv.ParseInt(string(it.Size), 10, 64); err == nil && n >= 0 {
			size = n
		}
	}
	if f == FormatCaddy {
		dir := it.IsDir != nil && *it.IsDir
		href := ""
		if it.URL != nil {
			href = *it.URL
		}
		if href == "" {
			href = nameHref(it.Name, dir)
		}
		var mod time.Time
		if it.ModTime != nil {
			mod = c.times.parse(*it.ModTime)
		}
		return c.add(href, dir, size, false, mod)
	}
	if it.Name == "" {
		return nil
	}
	dir := it.Type == "directory"
	return c.add(nameHref(it.Name, dir), dir, size, false, c.times.parse(it.Mtime))
}

// nameHref makes a relative href for a bare file name; the "./" keeps a
// name with a colon from reading as a scheme.
func nameHref(name string, dir bool) string {
	h := "./" + url.PathEscape(name)
	if dir {
		h += "/"
	}
	return h
}
