package job

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/grab-ir/grab/fetch"
	"github.com/grab-ir/grab/fetch/digest"
	"github.com/grab-ir/grab/fetch/jobdir"
	"golang.org/x/sys/unix"
)

// Audit is what Verify found.
type Audit struct {
	Checked    int      // files re-hashed
	Bytes      int64    // of them
	OK         int      // matching the job's state and the manifest
	Mismatched []string // "path: why", sorted
	Missing    []string // done in the job, absent from the tree
	Extra      []string // in the tree, not done in the job
}

// Clean reports whether the tree is exactly the job's finished files.
func (a *Audit) Clean() bool {
	return len(a.Mismatched)+len(a.Missing)+len(a.Extra) == 0
}

// Err is nil for a clean audit, else ErrVerify saying what is wrong with
// the tree in dir.
func (a *Audit) Err(dir string) error {
	var problems []string
	for _, p := range []struct {
		n    int
		what string
	}{{len(a.Mismatched), "mismatched"}, {len(a.Missing), "missing"}, {len(a.Extra), "extra"}} {
		if p.n > 0 {
			problems = append(problems, fmt.Sprintf("%d %s", p.n, p.what))
		}
	}
	if len(problems) == 0 {
		return nil
	}
	return fmt.Errorf("%w: the tree in %s does not match the job (%s)", ErrVerify, dir, strings.Join(problems, ", "))
}

// Verify re-hashes the tree in dir against the job's state and its
// manifest: every finished file must be there with its recorded SHA-256
// (and the manifest's MD5 and SHA-1 where it has them), and nothing else
// may be. It needs no network; it takes the job's lock, so it fails with
// *store.InUseError while the job runs. progress, if set, hears of each
// file checked.
func Verify(ctx context.Context, dir string, progress func(path string)) (*Audit, error) {
	files, _, _, err := offline(dir, "grab verify -o DIR")
	if err != nil {
		return nil, err
	}
	entries, err := ReadManifest(dir)
	if err != nil {
		return nil, err
	}
	man := map[string]Entry{}
	for _, e := range entries {
		man[e.Path] = e
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	tdir, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	defer tdir.Close()
	tree := &beneath{root: root, dir: tdir, dirs: map[string]error{}}
	a := &Audit{}
	done := map[string]bool{}
	for _, f := range files {
		if f.Kind != fetch.KindFile || f.State != fetch.Done {
			continue
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		done[f.Path] = true
		e, inManifest := man[f.Path]
		var extra []string
		if e.MD5 != "" {
			extra = append(extra, digest.MD5)
		}
		if e.SHA1 != "" {
			extra = append(extra, digest.SHA1)
		}
		if progress != nil {
			progress(f.Path)
		}
		got, n, err := tree.hashFile(f.Path, extra)
		switch {
		case errors.Is(err, os.ErrNotExist):
			a.Missing = append(a.Missing, f.Path)
			continue
		case err != nil:
			a.Mismatched = append(a.Mismatched, fmt.Sprintf("%s: %v", f.Path, err))
			continue
		}
		a.Checked++
		a.Bytes += n
		why := ""
		switch {
		case n != f.Size:
			why = fmt.Sprintf("%d bytes, the job recorded %d", n, f.Size)
		case got[digest.SHA256] != f.SHA256:
			why = fmt.Sprintf("SHA-256 %s, the job recorded %s", got[digest.SHA256], f.SHA256)
		case !inManifest:
			why = "not in the manifest"
		case e.SHA256 != f.SHA256 || e.Size != f.Size:
			why = "the manifest disagrees with the job's state"
		case e.MD5 != "" && got[digest.MD5] != e.MD5:
			why = fmt.Sprintf("MD5 %s, the manifest has %s", got[digest.MD5], e.MD5)
		case e.SHA1 != "" && got[digest.SHA1] != e.SHA1:
			why = fmt.Sprintf("SHA-1 %s, the manifest has %s", got[digest.SHA1], e.SHA1)
		}
		if why != "" {
			a.Mismatched = append(a.Mismatched, f.Path+": "+why)
			continue
		}
		a.OK++
	}
	for _, e := range entries {
		if !done[e.Path] {
			a.Mismatched = append(a.Mismatched, e.Path+": in the manifest, but not a finished file of the job")
		}
	}
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, rerr := filepath.Rel(dir, p)
		if rerr != nil {
			return rerr
		}
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if rel == jobdir.Name {
				return fs.SkipDir
			}
			return nil
		}
		if !done[rel] {
			a.Extra = append(a.Extra, rel)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("walking %s: %w", dir, err)
	}
	slices.Sort(a.Mismatched)
	slices.Sort(a.Missing)
	slices.Sort(a.Extra)
	return a, nil
}

// beneath reads files of the tree at their own place: through real
// folders only, never a link, out of the tree or within it (evidence
// reached through a link is not where the job put it).
type beneath struct {
	root *os.Root
	dir  *os.File         // the tree, for openat2
	dirs map[string]error // folders looked at, and what is wrong with each (for the message)
}

// folder reports what is wrong with the folder rel and the ones above it:
// nil if each is a real folder. It only explains why an open failed: a
// folder looked at may be swapped after.
func (b *beneath) folder(rel string) error {
	if rel == "." {
		return nil
	}
	if err, ok := b.dirs[rel]; ok {
		return err
	}
	err := b.folder(path.Dir(rel))
	if err == nil {
		var fi fs.FileInfo
		fi, err = b.root.Lstat(filepath.FromSlash(rel))
		switch {
		case err != nil:
		case fi.Mode()&fs.ModeSymlink != 0:
			err = fmt.Errorf("%s is a symbolic link, not a folder", rel)
		case !fi.IsDir():
			err = fmt.Errorf("%s is not a folder (%s)", rel, fi.Mode().Type())
		}
	}
	b.dirs[rel] = err
	return err
}

// openat2 is unix.Openat2; tests take it away to try the way without.
var openat2 = unix.Openat2

// open opens the file at rel beneath the tree in one step that follows
// no link anywhere on the way (openat2 with RESOLVE_BENEATH and
// RESOLVE_NO_SYMLINKS), so that nothing swapped in after a look can take
// the read elsewhere; where the kernel lacks openat2, folder by folder,
// each opened without following a link.
func (b *beneath) open(rel string) (*os.File, error) {
	how := &unix.OpenHow{Flags: unix.O_RDONLY | unix.O_CLOEXEC | unix.O_NONBLOCK | unix.O_NOFOLLOW,
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS}
	fd, err := openat2(int(b.dir.Fd()), rel, how)
	if err == nil {
		return os.NewFile(uintptr(fd), rel), nil
	}
	if !errors.Is(err, unix.ENOSYS) && !errors.Is(err, unix.EPERM) {
		return nil, &fs.PathError{Op: "open", Path: rel, Err: err}
	}
	dir := int(b.dir.Fd())
	segs := strings.Split(rel, "/")
	for i, seg := range segs {
		flags := unix.O_RDONLY | unix.O_CLOEXEC | unix.O_NOFOLLOW | unix.O_NONBLOCK
		if i < len(segs)-1 {
			flags |= unix.O_DIRECTORY
		}
		fd, err := unix.Openat(dir, seg, flags, 0)
		if dir != int(b.dir.Fd()) {
			unix.Close(dir)
		}
		if err != nil {
			return nil, &fs.PathError{Op: "open", Path: rel, Err: err}
		}
		dir = fd
	}
	return os.NewFile(uintptr(dir), rel), nil
}

// hashFile returns the SHA-256 (and the extra digests) of the regular
// file at rel (slash-separated) and its length. Anything but a regular
// file, or a path through anything but folders, is an error.
func (b *beneath) hashFile(rel string, extra []string) (digest.Set, int64, error) {
	f, err := b.open(rel)
	if errors.Is(err, unix.ELOOP) || errors.Is(err, unix.ENOTDIR) || errors.Is(err, unix.EXDEV) {
		if ferr := b.folder(path.Dir(rel)); ferr != nil {
			return nil, 0, ferr
		}
		if fi, lerr := b.root.Lstat(filepath.FromSlash(rel)); lerr == nil && !fi.Mode().IsRegular() {
			return nil, 0, fmt.Errorf("not a regular file (%s)", fi.Mode().Type())
		}
		return nil, 0, fmt.Errorf("a link on the way: %w", err)
	}
	if err != nil {
		return nil, 0, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, 0, fmt.Errorf("not a regular file (%s)", fi.Mode().Type())
	}
	defer f.Close()
	h := digest.NewHasher(nil, extra...)
	n, err := io.Copy(h, f)
	if err != nil {
		return nil, n, fmt.Errorf("reading: %w", err)
	}
	return h.Sum(), n, nil
}
