package fetch

import (
	"fmt"

	"github.com/grab-ir/grab/fetch/rate"
)

// MaxFileSize is the largest file size grab believes: 16 TiB. A number
// above it from a server (a listing, Content-Length, Content-Range) is a
// lie or a bug, and sizes nothing.
const MaxFileSize int64 = 16 << 40

// maxBody is the largest file this job accepts: Config.MaxBody, at most
// MaxFileSize.
func (e *Engine) maxBody() int64 {
	if e.cfg.MaxBody > 0 {
		return min(e.cfg.MaxBody, MaxFileSize)
	}
	return MaxFileSize
}

// tooLarge says why a file of size bytes cannot be taken: larger than the
// job's limit. "" if it can.
func (e *Engine) tooLarge(size int64) string {
	if size > e.maxBody() {
		return fmt.Sprintf("%v: the source announces %d bytes, more than the limit of %s", ErrTooLarge, size, rate.Bytes(e.maxBody()))
	}
	return ""
}

// fits says why a file of size bytes cannot fit on the free disk, "" if
// it can. Such a file fails alone, before anything is allocated or
// written for it: smaller files may still fit, and a resume once space
// is freed tries it again (File.Again).
func (e *Engine) fits(f *fileState, size int64) string {
	if free, ok := e.cfg.FreeSpace(e.cfg.Dir); ok && size-f.doneBytes > free {
		return fmt.Sprintf("%v: it needs %s more, and %s are free on the disk of %s; free space and run grab again to resume it",
			ErrNoRoom, rate.Bytes(size-f.doneBytes), rate.Bytes(free), e.cfg.Dir)
	}
	return ""
}

// listed decides whether a size a listing announced may size f's block map
// now: only while it and the sizes already taken from listings fit on the
// disk. Otherwise it stays an estimate and the file's first answer tells.
// e.mu is held.
func (e *Engine) listed(f *fileState) bool {
	if f.Size > e.maxBody() {
		return false
	}
	free, ok := e.cfg.FreeSpace(e.cfg.Dir)
	if ok && e.listedBytes+f.Size > free {
		return false
	}
	e.listedBytes += f.Size
	return true
}
