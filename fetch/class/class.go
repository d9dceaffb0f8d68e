package class

import (
	"fmt"
	"path"
	"slices"
	"strings"
)

// Other is the name of the catch-all class, always last.
const Other = "other"

// Class is a named group of file extensions. An extension is lower-case,
// without the leading dot, and may have inner dots ("tar.gz"); one with glob
// characters ("[0-9][0-9][0-9]") is a pattern in path.Match syntax.
type Class struct {
	Name string
	Exts []string
}

// Builtin returns the built-in classes in their default priority order:
// photos, documents, email, databases, archives, media, other.
func Builtin() []Class {
	return []Class{
		{"photos", []string{
			"jpg", "jpeg", "jpe", "jfif", "png", "tif", "tiff", "gif", "bmp",
			"heic", "heif", "webp", "avif", "jxl",
			// camera raw
			"cr2", "cr3", "crw", "nef", "nrw", "arw", "srf", "sr2", "dng", "orf",
			"rw2", "raf", "srw", "pef", "rwl", "3fr", "fff", "iiq", "kdc", "dcr",
			"mrw", "mos", "mef", "erf", "x3f",
		}},
		{"documents", []string{
			"pdf", "doc", "docx", "docm", "dot", "dotx", "xls", "xlsx", "xlsm",
			"xlsb", "ppt", "pptx", "pptm", "odt", "ods", "odp", "odg", "rtf",
			"txt", "csv", "tsv", "md", "html", "htm", "mht", "mhtml", "xml",
			"json", "epub", "pages", "numbers", "wpd",
		}},
		{"email", []string{
			"pst", "ost", "eml", "emlx", "msg", "mbox", "mbx", "olm", "dbx", "nsf",
		}},
		{"databases", []string{
			"sql", "db", "sqlite", "sqlite3", "db3", "mdb", "accdb", "bak", "dump",
			"dbf", "mdf", "ldf", "ndf", "frm", "ibd", "myd", "myi", "kdbx",
			// SQLite side files hold recent and deleted rows
			"db-wal", "db-shm", "db-journal", "sqlite-wal", "sqlite-shm",
			"sqlite-journal",
		}},
		{"archives", []string{
			"zip", "7z", "rar", "tar", "gz", "tgz", "bz2", "tbz", "tbz2", "xz",
			"txz", "zst", "tzst", "lz4", "lz", "lzma", "z", "cab", "arj", "lzh",
			// split parts: .001 (also .7z.001, .zip.001), .z01, .r00;
			// .part1.rar ends in .rar
			"[0-9][0-9][0-9]", "z[0-9][0-9]", "r[0-9][0-9]",
			// disk and evidence images
			"iso", "img", "dmg", "vhd", "vhdx", "vmdk", "qcow2", "dd",
			"e[0-9][0-9]", "ex01", "aff", "aff4",
		}},
		{"media", []string{
			"mp3", "wav", "m4a", "aac", "flac", "ogg", "opus", "wma", "amr",
			"mp4", "m4v", "mov", "avi", "mkv", "webm", "wmv", "flv", "mpg",
			"mpeg", "3gp", "3g2", "mts", "m2ts", "vob",
		}},
		{Other, nil},
	}
}

// Set is a list of classes, built-ins with overrides applied, and an index
// for classifying names by extension. It is read-only after NewSet and safe
// for concurrent use.
type Set struct {
	classes  []Class
	literal  map[string]int // extension -> class index
	patterns []pattern      // in class order
	maxParts int            // most dot-separated parts in one extension
}

type pattern struct {
	glob  string
	parts int
	class int
}

// NewSet returns the built-in classes with overrides applied in order. Each
// override is "NAME=ext,ext" (NAME gets exactly these extensions) or
// "NAME+=ext,ext" (NAME gets them too). A new NAME adds a class, placed before
// "other" in the order given. An extension named in an override leaves the
// class it was in. Extensions are matched without case; a leading dot is
// dropped ("=.JPG" is "jpg"). Names are lower-cased letters, digits, "-" and
// "_", starting with a letter or digit.
func NewSet(overrides []string) (*Set, error) {
	classes := Builtin()
	for _, o := range overrides {
		name, exts, add, err := parseOverride(o)
		if err != nil {
			return nil, err
		}
		for i := range classes {
			if classes[i].Name != name {
				classes[i].Exts = slices.DeleteFunc(classes[i].Exts, func(e string) bool {
					return slices.Contains(exts, e)
				})
			}
		}
		i := slices.IndexFunc(classes, func(c Class) bool { return c.Name == name })
		switch {
		case i < 0:
			i = len(classes) - 1 // before "other"
			classes = slices.Insert(classes, i, Class{Name: name})
			classes[i].Exts = exts
		case add:
			for _, e := range exts {
				if !slices.Contains(classes[i].Exts, e) {
					classes[i].Exts = append(classes[i].Exts, e)
				}
			}
		default:
			classes[i].Exts = exts
		}
	}
	return newSet(classes), nil
}

func newSet(classes []Class) *Set {
	s := &Set{classes: classes, literal: make(map[string]int)}
	for i, c := range classes {
		for _, e := range c.Exts {
			parts := strings.Count(e, ".") + 1
			s.maxParts = max(s.maxParts, parts)
			if isPattern(e) {
				s.patterns = append(s.patterns, pattern{e, parts, i})
			} else {
				s.literal[e] = i
			}
		}
	}
	return s
}

// parseOverride reads "NAME=ext,ext" or "NAME+=ext,ext".
func parseOverride(o string) (name string, exts []string, add bool, err error) {
	name, list, ok := strings.Cut(o, "=")
	if !ok {
		return "", nil, false, fmt.Errorf("%w %q: want NAME=ext,ext", ErrBadOverride, o)
	}
	if n, found := strings.CutSuffix(name, "+"); found {
		name, add = n, true
	}
	name = strings.ToLower(strings.TrimSpace(name))
	if !validName(name) {
		return "", nil, false, fmt.Errorf("%w %q: class name %q is not letters, digits, - and _", ErrBadOverride, o, name)
	}
	for _, e := range strings.Split(list, ",") {
		e = strings.ToLower(strings.TrimPrefix(strings.TrimSpace(e), "."))
		if e == "" {
			continue
		}
		if strings.ContainsAny(e, "/\\ \t") || strings.Trim(e, ".") != e || strings.Contains(e, "..") {
			return "", nil, false, fmt.Errorf("%w %q: %q is not an extension", ErrBadOverride, o, e)
		}
		if _, err := path.Match(e, ""); err != nil {
			return "", nil, false, fmt.Errorf("%w %q: %q is not a valid pattern", ErrBadOverride, o, e)
		}
		if !slices.Contains(exts, e) {
			exts = append(exts, e)
		}
	}
	return name, exts, add, nil
}

func validName(n string) bool {
	if n == "" {
		return false
	}
	for i, r := range n {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
		case (r == '-' || r == '_') && i > 0:
		default:
			return false
		}
	}
	return true
}

func isPattern(e string) bool { return strings.ContainsAny(e, "*?[\\") }

// Classify returns the name of the class of a file name (or slash-separated
// path), by extension and without case. Longer extensions win ("tar.gz"
// before "gz"), and literal extensions before patterns. A leading dot does not
// start an extension (".bashrc" has none, ".x.jpg" is "jpg"). Names without
// a known extension are "other".
func (s *Set) Classify(name string) string {
	name = strings.ToLower(name[strings.LastIndexByte(name, '/')+1:])
	parts := strings.Split(strings.TrimLeft(name, "."), ".")
	exts := parts[1:]
	top := min(s.maxParts, len(exts))
	for k := top; k >= 1; k-- {
		if i, ok := s.literal[strings.Join(exts[len(exts)-k:], ".")]; ok {
			return s.classes[i].Name
		}
	}
	for k := top; k >= 1; k-- {
		suffix := strings.Join(exts[len(exts)-k:], ".")
		for _, p := range s.patterns {
			if p.parts == k {
				if ok, _ := path.Match(p.glob, suffix); ok {
					return s.classes[p.class].Name
				}
			}
		}
	}
	return Other
}

// Classes returns a copy of the set's classes in default priority order,
// "other" last.
func (s *Set) Classes() []Class {
	out := make([]Class, len(s.classes))
	for i, c := range s.classes {
		out[i] = Class{Name: c.Name, Exts: slices.Clone(c.Exts)}
	}
	return out
}

// Order parses a comma-separated priority list such as "photos,documents"
// and returns each class's rank, 0 first: the classes named, in that order,
// then the others in default order. Names are matched without case; empty
// items and repeats are ignored. An unknown name is an error wrapping
// ErrUnknownClass that lists the valid names.
func (s *Set) Order(priority string) (map[string]int, error) {
	named, err := s.parseList(priority)
	if err != nil {
		return nil, err
	}
	ranks := make(map[string]int, len(s.classes))
	for _, n := range named {
		if _, ok := ranks[n]; !ok {
			ranks[n] = len(ranks)
		}
	}
	for _, c := range s.classes {
		if _, ok := ranks[c.Name]; !ok {
			ranks[c.Name] = len(ranks)
		}
	}
	return ranks, nil
}

// ParseOnly parses a comma-separated list of class names (--only) into a
// set. An empty list gives nil, meaning every class. An unknown name is an
// error wrapping ErrUnknownClass that lists the valid names.
func (s *Set) ParseOnly(list string) (map[string]bool, error) {
	named, err := s.parseList(list)
	if err != nil || len(named) == 0 {
		return nil, err
	}
	only := make(map[string]bool, len(named))
	for _, n := range named {
		only[n] = true
	}
	return only, nil
}

func (s *Set) parseList(list string) ([]string, error) {
	var names []string
	for _, n := range strings.Split(list, ",") {
		n = strings.ToLower(strings.TrimSpace(n))
		if n == "" {
			continue
		}
		if !slices.ContainsFunc(s.classes, func(c Class) bool { return c.Name == n }) {
			valid := make([]string, len(s.classes))
			for i, c := range s.classes {
				valid[i] = c.Name
			}
			return nil, fmt.Errorf("%w %q (valid: %s)", ErrUnknownClass, n, strings.Join(valid, ", "))
		}
		names = append(names, n)
	}
	return names, nil
}
