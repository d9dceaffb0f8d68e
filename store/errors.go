package store

import (
	"errors"
	"fmt"
)

var (
	// ErrFormat reports a state database this grab cannot read.
	ErrFormat = errors.New("unsupported state format")
	// ErrNoJob reports a folder that holds no grab job.
	ErrNoJob = errors.New("no grab job here")
	// ErrDamaged reports a state database that cannot be read, or state
	// files that are not what grab wrote.
	ErrDamaged = errors.New("the job's state is damaged")
	// ErrForeign reports a state database that belongs to another job.
	ErrForeign = errors.New("the job's state is another job's")
)

// InUseError reports a job held by another process.
type InUseError struct {
	PID  int // 0 when unknown
	Path string
}

func (e *InUseError) Error() string {
	if e.PID > 0 {
		return fmt.Sprintf("job in use by pid %d (%s)", e.PID, e.Path)
	}
	return fmt.Sprintf("job in use by another process (%s)", e.Path)
}
