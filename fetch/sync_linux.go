package fetch

import (
	"os"
	"syscall"
)

// datasync flushes a file's data (not its timestamps) to the disk.
func datasync(f *os.File) error { return syscall.Fdatasync(int(f.Fd())) }
