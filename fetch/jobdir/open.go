package jobdir

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// ErrNotOwn reports a path where grab keeps a file of its own holding
// something grab never puts there: not a regular file (a FIFO would hang
// whoever opens it), or, to be written, a file with other names (a hard
// link from outside the folder would take the writes there).
var ErrNotOwn = errors.New("is not a file grab wrote")

// Open opens rel beneath root as one of grab's own files: never through a
// symbolic link, never blocking on a FIFO, and only if it is a regular
// file; opened for writing, only if it has no other name.
func Open(root *os.Root, rel string, flag int, perm os.FileMode) (*os.File, error) {
	f, err := root.OpenFile(rel, flag|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, perm)
	if err != nil {
		// A link, a folder, a FIFO without a reader, a socket: the open
		// fails, and says less than what is there.
		if fi, lerr := root.Lstat(rel); lerr == nil && !fi.Mode().IsRegular() {
			return nil, fmt.Errorf("%s %w (%s)", rel, ErrNotOwn, Kind(fi.Mode()))
		}
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("%s %w (%s)", rel, ErrNotOwn, Kind(fi.Mode()))
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Nlink != 1 && flag&(os.O_WRONLY|os.O_RDWR) != 0 {
		f.Close()
		return nil, fmt.Errorf("%s %w (a file of %d names)", rel, ErrNotOwn, st.Nlink)
	}
	return f, nil
}

// ReadFile reads a small file of grab's own (as Open opens it), of at
// most max bytes.
func ReadFile(root *os.Root, rel string, max int64) ([]byte, error) {
	f, err := Open(root, rel, os.O_RDONLY, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err == nil && int64(len(b)) > max {
		err = fmt.Errorf("%s %w (over %d bytes)", rel, ErrNotOwn, max)
	}
	return b, err
}

// ReadPID reads the pid file of the job in d (0 and an error if there is
// none, or it is not one grab wrote).
func (d Dir) ReadPID() (int, error) {
	root, err := os.OpenRoot(string(d))
	if err != nil {
		return 0, err
	}
	defer root.Close()
	b, err := ReadFile(root, Name+"/pid", 64)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(b)))
}

// Kind names what a mode is, for messages: "a FIFO", "a folder", ...
func Kind(m os.FileMode) string {
	switch t := m.Type(); {
	case t == 0:
		return "a file"
	case t&os.ModeDir != 0:
		return "a folder"
	case t&os.ModeSymlink != 0:
		return "a symbolic link"
	case t&os.ModeNamedPipe != 0:
		return "a FIFO"
	case t&os.ModeSocket != 0:
		return "a socket"
	case t&os.ModeDevice != 0:
		return "a device"
	}
	return "not a file"
}
