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
// with `cd DIR && sha256sum -c .grab/SHA256SUMS`.
func writeSums(dir string, files []fetch.File) error {
	var lines []string
	for _, f := range files {
		if f.State == fetch.Done && f.Kind == fetch.KindFile {
			lines = append(lines, f.SHA256+"  "+f.Path+"\n")
		}
	}
	sort.Slice(lines, func(i, j int) bool { return lines[i][66:] < lines[j][66:] })
	path := jobdir.Dir(dir).Sums()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(strings.Join(lines, "")), 0o644); err != nil {
		return fmt.Errorf("writing manifest: %w", err)
	}
	return os.Rename(tmp, path)
}
