package job

import (
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/grab-ir/grab/fetch"
	"github.com/grab-ir/grab/fetch/jobdir"
)

// writeSums lists every finished file with its SHA-256 in
// DIR/.grab/SHA256SUMS, in sha256sum's format, so the tree can be checked
// with `cd DIR && sha256sum -c .grab/SHA256SUMS`. It writes beneath DIR
// and never through a link: a temporary file made anew, then renamed.
func writeSums(dir string, files []fetch.File) error {
	var lines []string
	for _, f := range files {
		if f.State == fetch.Done && f.Kind == fetch.KindFile {
			lines = append(lines, f.SHA256+"  "+f.Path+"\n")
		}
	}
	sort.Slice(lines, func(i, j int) bool { return lines[i][66:] < lines[j][66:] })
	root, err := os.OpenRoot(dir)
	if err != nil {
		return fmt.Errorf("writing SHA256SUMS: %w", err)
	}
	defer root.Close()
	rel := jobdir.Name + "/SHA256SUMS"
	tmp := rel + ".tmp"
	root.Remove(tmp)
	f, err := root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("writing SHA256SUMS: %w", err)
	}
	_, err = f.WriteString(strings.Join(lines, ""))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("writing SHA256SUMS: %w", err)
	}
	return root.Rename(tmp, rel)
}
