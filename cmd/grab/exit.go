package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/grab-ir/grab/fetch"
	"github.com/grab-ir/grab/fetch/dial"
	"github.com/grab-ir/grab/fetch/job"
	"github.com/grab-ir/grab/fetch/rsyncsrc"
	"github.com/grab-ir/grab/store"
)

// Exit codes, documented in docs/usage.md.
const (
	exitOK          = 0
	exitError       = 1 // the job could not run or stopped (disk full, job in use, ...)
	exitUsage       = 2 // bad command line
	exitFailed      = 3 // the job ran, but some files could not be fetched
	exitInterrupted = 130
)

// ui is where grab talks to people: progress on stdout, messages on stderr.
type ui struct {
	stdin          io.Reader
	stdout, stderr io.Writer
}

func (u *ui) printf(format string, a ...any) {
	fmt.Fprintf(u.stderr, "grab: "+format+"\n", a...)
}

// exit turns the outcome of a command into messages and an exit code: the
// one place that does.
func (u *ui) exit(err error) int {
	if err == nil {
		return exitOK
	}
	var ue *job.UsageError
	var h *job.HintError
	var help helpRequest
	var inUse *store.InUseError
	var rsyncHint *rsyncsrc.HintError
	switch {
	case errors.As(err, &help):
		fmt.Fprint(u.stdout, string(help))
		return exitOK
	case errors.As(err, &ue):
		u.printf("error: %s", ue.Msg)
		if ue.Hint != "" {
			u.printf("hint: %s", ue.Hint)
		}
		return exitUsage
	case errors.Is(err, context.Canceled):
		u.printf("interrupted: progress is saved; run the same command again to resume")
		return exitInterrupted
	case errors.Is(err, fetch.ErrFailed):
		u.printf("error: %v", err)
		return exitFailed
	case errors.As(err, &h):
		u.printf("error: %v", h.Err)
		u.printf("hint: %s", h.Hint)
	case errors.Is(err, fetch.ErrDiskFull):
		u.printf("error: %v", err)
		u.printf("hint: free some space, then run the same command again: nothing recorded is lost")
	case errors.As(err, &inUse):
		u.printf("error: %v", err)
		u.printf("hint: wait for it to finish, or stop it (Ctrl-C saves its progress)")
	case errors.As(err, &rsyncHint):
		u.printf("error: %v", rsyncHint.Err)
		u.printf("hint: %s", rsyncHint.Hint)
	case errors.Is(err, dial.ErrOnionNeedsProxy):
		u.printf("error: %v", err)
		u.printf("hint: add --proxy socks5h://127.0.0.1:9050 (a running Tor) or --tor")
	default:
		u.printf("error: %s", strings.TrimPrefix(err.Error(), "grab: "))
	}
	return exitError
}
