package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"

	"github.com/grab-ir/grab/fetch"
	"github.com/grab-ir/grab/fetch/dial"
	"github.com/grab-ir/grab/fetch/httpsrc"
	"github.com/grab-ir/grab/fetch/job"
	"github.com/grab-ir/grab/fetch/jobdir"
	"github.com/grab-ir/grab/fetch/rsyncsrc"
	"github.com/grab-ir/grab/fetch/safetext"
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

// printf writes one message. Its arguments may hold text from a server,
// so control characters are escaped (safetext) before anything is written.
func (u *ui) printf(format string, a ...any) {
	fmt.Fprintf(u.stderr, "grab: %s\n", safetext.String(fmt.Sprintf(format, a...)))
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
	var se *dial.SOCKSError
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
	case errors.Is(err, store.ErrForeign):
		u.printf("error: %v", err)
		u.printf("hint: run grab in the folder that job was started in; to start a new job here, move the folder's .grab aside")
	case errors.Is(err, store.ErrDamaged), errors.Is(err, fetch.ErrLink), errors.Is(err, jobdir.ErrNotOwn):
		u.printf("error: %v", err)
		u.printf("hint: move the folder's .grab aside to start over (grab never overwrites a file already in the tree: those are reported)")
	case errors.As(err, &inUse):
		u.printf("error: %v", err)
		u.printf("hint: wait for it to finish, or stop it (Ctrl-C saves its progress)")
	case errors.As(err, &rsyncHint):
		u.printf("error: %v", rsyncHint.Err)
		u.printf("hint: %s", rsyncHint.Hint)
	case errors.Is(err, dial.ErrOnionNeedsProxy):
		u.printf("error: %v", err)
		u.printf("hint: add --proxy socks5h://127.0.0.1:9050 (a running Tor) or --tor")
	case errors.Is(err, httpsrc.ErrNotTLS):
		u.printf("error: %v", err)
		u.printf("hint: check the URL: http:// rather than https://, or another port")
	case errors.Is(err, fetch.ErrUnreachable):
		u.printf("error: %s", unwrapURL(err))
		u.printf("hint: progress is saved; run the same command again once the source is back")
	case errors.As(err, &se) && errors.Is(err, dial.ErrNoProxy):
		u.printf("error: no SOCKS proxy at %s: is Tor running?", se.Proxy)
		u.printf("hint: systemctl start tor, or use --tor (Tor Browser listens on 9150, a system tor on 9050)")
	case errors.As(err, &se) && errors.Is(err, dial.ErrProxyHandshake):
		u.printf("error: %s does not answer as a SOCKS5 proxy: %v", se.Proxy, se.Err)
		u.printf("hint: --proxy wants Tor's SocksPort (socks5h://127.0.0.1:9050), not an HTTP proxy or tor's control port")
	case errors.As(err, &se) && errors.Is(err, dial.ErrProxyAuth):
		u.printf("error: the SOCKS proxy at %s refused grab's credentials: %v", se.Proxy, se.Err)
		u.printf("hint: grab gives every circuit its own SOCKS username and password; the proxy must accept any, as Tor's SocksPort does")
	case errors.Is(err, httpsrc.ErrTLSVerify):
		u.printf("error: %s", tlsMessage(err))
		u.printf("hint: --cacert FILE trusts the authority (or the server's own certificate) in FILE; -k/--insecure skips the check")
	default:
		u.printf("error: %s", strings.TrimPrefix(err.Error(), "grab: "))
	}
	return exitError
}

// tlsMessage is the TLS failure without the Get "URL": prefix of net/http.
func tlsMessage(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	var tr *fetch.TransientError
	if errors.As(err, &tr) {
		return tlsMessage(tr.Err)
	}
	return err.Error()
}

// unwrapURL drops net/http's Get "URL": prefixes from a message.
func unwrapURL(err error) string {
	msg := err.Error()
	var ue *url.Error
	if errors.As(err, &ue) {
		msg = strings.Replace(msg, ue.Op+" \""+ue.URL+"\": ", "", 1)
	}
	return msg
}
