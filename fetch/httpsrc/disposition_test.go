package httpsrc

import (
	"strings"
	"testing"
)

func TestFilename(t *testing.T) {
	for in, want := range map[string]string{
		"":                                  "",
		"inline":                            "",
		`attachment; filename="a.jpg"`:      "a.jpg",
		`attachment; filename=plate_01.JPG`: "plate_01.JPG",
		`attachment; filename="../../x.sh"`: "x.sh",
		`attachment; filename="C:\\dir\\y"`: "y",
		`attachment; filename=".."`:         "",
		`attachment; filename="dir/"`:       "",
		`attachment; filename="a b.pdf"; x`: "",
		"attachment; filename*=UTF-8''%e2%82%ac%20rates.pdf":                   "€ rates.pdf",
		`attachment; filename="plain.pdf"; filename*=UTF-8''%c3%a9t%c3%a9.pdf`: "été.pdf",
		`attachment; filename="esc` + "\x1b" + `[31m.txt"`:                     "esc\x1b[31m.txt", // the mapper cleans it
	} {
		if got := Filename(in); got != want {
			t.Errorf("Filename(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzFilename: whatever a server sends, the name has no folder in it and
// is not a dot name.
func FuzzFilename(f *testing.F) {
	f.Add(`attachment; filename="a.jpg"`)
	f.Add("attachment; filename*=UTF-8''%2e%2e%2f%2e%2e%2fx")
	f.Add(`attachment; filename="a\\..\\b"`)
	f.Fuzz(func(t *testing.T, h string) {
		n := Filename(h)
		if strings.ContainsAny(n, "/\\") || n == "." || n == ".." {
			t.Fatalf("Filename(%q) = %q", h, n)
		}
	})
}
