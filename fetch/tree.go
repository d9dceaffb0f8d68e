package fetch

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"syscall"

	"github.com/grab-ir/grab/fetch/jobdir"
)

// tree is the output folder, opened once: every path the engine writes is
// opened beneath it (os.Root), so no symbolic link already in the folder
// can take a write outside it. grab's own folders (.grab, .grab/part) must
// be real folders, and partial files are never opened through a link.
type tree struct {
	dir  string
	root *os.Root
	log  *slog.Logger
}

// ErrLink reports a symbolic link where grab keeps its own state.
var ErrLink = errors.New("is a symbolic link; grab writes nothing through one")

func openTree(dir string, log *slog.Logger) (*tree, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("creating output folder: %w", err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("opening output folder: %w", err)
	}
	t := &tree{dir: dir, root: root, log: log}
	for _, rel := range []string{jobdir.Name, jobdir.PartsRel} {
		if err := t.realDir(rel); err != nil {
			root.Close()
			return nil, err
		}
	}
	return t, nil
}

// realDir makes sure rel is a folder of its own, creating it if need be.
func (t *tree) realDir(rel string) error {
	fi, err := t.root.Lstat(rel)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := t.root.Mkdir(rel, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("creating state folder: %w", err)
		}
		return t.realDir(rel)
	case err != nil:
		return fmt.Errorf("state folder: %w", err)
	case fi.Mode()&fs.ModeSymlink != 0:
		return fmt.Errorf("%s %w", filepath.Join(t.dir, rel), ErrLink)
	case !fi.IsDir():
		return fmt.Errorf("%s is not a folder", filepath.Join(t.dir, rel))
	}
	return nil
}

func partRel(id uint64) string { return fmt.Sprintf("%s/%016x", jobdir.PartsRel, id) }

// openPart opens a partial file, never through a link. Opened for
// writing, it must be a regular file of one name (a hard link from
// outside the folder would take the writes there): one that is not is
// replaced by a new, empty one when flag creates, and is a
// jobdir.ErrNotOwn otherwise.
func (t *tree) openPart(id uint64, flag int) (*os.File, error) {
	rel := partRel(id)
	f, err := jobdir.Open(t.root, rel, flag, 0o600)
	if !errors.Is(err, jobdir.ErrNotOwn) || flag&os.O_CREATE == 0 {
		return f, err
	}
	// Drop the name (a folder planted there with what it holds), never
	// the file behind it, and start a file of its own.
	if rerr := t.root.RemoveAll(rel); rerr != nil {
		return nil, fmt.Errorf("%w; removing it: %v", err, rerr)
	}
	t.log.Warn("partial file replaced by a new one", "why", err)
	return t.root.OpenFile(rel, flag|os.O_EXCL|syscall.O_NOFOLLOW, 0o600)
}

func (t *tree) removePart(id uint64) { t.root.Remove(partRel(id)) }

func (t *tree) close() error { return t.root.Close() }

// Close releases the output folder. The engine must not run after it.
func (e *Engine) Close() error { return e.tree.close() }
