//go:build !linux

package fetch

import (
	"errors"
	"os"
)

func datasync(f *os.File) error { return f.Sync() }

func syncfs(*os.File) error { return errors.ErrUnsupported }

const haveSyncfs = false
