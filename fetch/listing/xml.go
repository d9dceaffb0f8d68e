package listing

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// xmlItem is one child of nginx's <list>: <directory mtime="...">name</directory>,
// <file mtime="..." size="...">name</file> or <other ...>.
type xmlItem struct {
	Mtime string `xml:"mtime,attr"`
	Size  string `xml:"size,attr"`
	Name  string `xml:",chardata"`
}

// parseXML reads nginx's autoindex_format xml.
func parseXML(c *collector, body []byte) error {
	d := xml.NewDecoder(bytes.NewReader(body))
	depth := 0
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read XML: %v: %w", err, ErrMalformed)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if depth == 0 {
				depth++
				continue
			}
			if err := c.countLink(); err != nil {
				return err
			}
			var it xmlItem
			if err := d.DecodeElement(&it, &t); err != nil {
				return fmt.Errorf("read XML item %d: %v: %w", c.links, err, ErrMalformed)
			}
			if err := addXMLItem(c, t.Name.Local, &it); err != nil {
				return err
			}
		case xml.EndElement:
			depth--
		}
	}
}

func addXMLItem(c *collector, kind string, it *xmlItem) error {
	if len(it.Name) > c.lim.name {
		return fmt.Errorf("name of %d bytes exceeds %d: %w", len(it.Name), c.lim.name, ErrTooLarge)
	}
	if it.Name == "" || kind != "file" && kind != "directory" && kind != "other" {
		return nil
	}
	size := int64(-1)
	if n, err := strconv.ParseInt(it.Size, 10, 64); err == nil && n >= 0 {
		size = n
	}
	dir := kind == "directory"
	return c.add(nameHref(it.Name, dir), dir, size, false, c.times.parse(it.Mtime))
}
