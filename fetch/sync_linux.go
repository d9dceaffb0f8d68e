package fetch

import (
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// datasync flushes a file's data (not its timestamps) to the disk.
func datasync(f *os.File) error { return syscall.Fdatasync(int(f.Fd())) }

// syncfs flushes everything written to the file system that holds dir,
// data and metadata, and waits for it (syncfs(2)): a batch of many small
// files costs one journal commit instead of one per file. Since Linux 5.8
// it reports write-back errors on that file system since dir was opened,
// so dir is opened once per run.
func syncfs(dir *os.File) error { return unix.Syncfs(int(dir.Fd())) }

const haveSyncfs = true
