package fetchtest

import (
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// Tree is the output tree of a job: the regular files under dir by
// slash-separated relative path, with their contents, grab's state folder
// left out. Anything but a folder or a regular file (a link, a device)
// fails the test: grab creates neither.
func Tree(t testing.TB, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == ".grab" {
			return filepath.SkipDir
		}
		rel, _ := filepath.Rel(dir, p)
		switch {
		case d.Type().IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			out[filepath.ToSlash(rel)] = b
		case !d.IsDir():
			t.Fatalf("%s is a %v, not a file or folder", rel, d.Type())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
