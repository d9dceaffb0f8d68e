//go:build !linux

package fetch

import "os"

func datasync(f *os.File) error { return f.Sync() }
