package job

import (
	"errors"

	"github.com/grab-ir/grab/fetch"
)

// UsageError is a bad command line: a setting out of range, flags that
// conflict, a URL grab cannot fetch. Hint says what to type instead.
type UsageError struct {
	Msg, Hint string
}

func (e *UsageError) Error() string { return e.Msg }

// HintError is an error with a next step for the user.
type HintError struct {
	Err  error
	Hint string
}

func (e *HintError) Error() string { return e.Err.Error() }
func (e *HintError) Unwrap() error { return e.Err }

// ErrNoJob is a folder that holds no job, resumed without URLs.
var ErrNoJob = errors.New("holds no grab job")

// ErrNotRunning is a job no grab is running: nothing answers on its
// status socket.
var ErrNotRunning = errors.New("no grab is running the job")

// ErrVerify is a tree that does not match its job: a file mismatched,
// missing or extra. It is a fetch.ErrFailed too, so grab exits 3.
var ErrVerify error = verifyFailed{}

type verifyFailed struct{}

func (verifyFailed) Error() string        { return "verify" }
func (verifyFailed) Is(target error) bool { return target == fetch.ErrFailed }
