package tor

import (
	"bytes"
	"context"
	"fmt"
	"github.com/grab-ir/grab/fetch/internal/tail"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/cretz/bine/process"
)

const (
	// portFileWait bounds the wait for tor to write its control port file.
	portFileWait = time.Minute
	// stopWait is how long a tor gets to exit after HALT or SIGTERM before
	// SIGKILL.
	stopWait = 10 * time.Second
)

// proc is one tor process, made by bine through creator. Unlike a bare
// exec.Cmd, Wait may be called any number of times, and Start returns only
// once tor has written its control port, so bine's short poll of that file
// cannot give up on a slow machine.
type proc struct {
	cmd      *exec.Cmd
	tail     *tail.Buffer
	portFile string
	done     chan struct{} // closed once the process was reaped
	err      error         // Wait's result, valid after done
}

var _ process.Process = (*proc)(nil)

// creator builds the procs bine starts: tor's output goes to log and a
// tail buffer; tor runs in its own process group (a Ctrl-C at the terminal
// reaches grab, which then stops tor in order) and, on Linux, gets SIGTERM
// if grab dies. Cancelling bine's process context sends SIGTERM, then
// SIGKILL after stopWait.
type creator struct {
	path string
	log  *slog.Logger
	made chan *proc // receives the proc bine creates, for Start to keep
}

func (c *creator) New(ctx context.Context, args ...string) (process.Process, error) {
	p := &proc{tail: &tail.Buffer{Max: 4096}, done: make(chan struct{})}
	for i, a := range args {
		if a == "--ControlPortWriteToFile" && i+1 < len(args) {
			p.portFile = args[i+1]
		}
	}
	out := &lineLogger{log: c.log, tail: p.tail}
	p.cmd = exec.CommandContext(ctx, c.path, args...)
	p.cmd.Stdout, p.cmd.Stderr = out, out
	p.cmd.SysProcAttr = sysProcAttr()
	p.cmd.Cancel = func() error { return p.cmd.Process.Signal(syscall.SIGTERM) }
	p.cmd.WaitDelay = stopWait
	select {
	case c.made <- p:
	default:
	}
	return p, nil
}

func (p *proc) Start() error {
	if err := p.cmd.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", p.cmd.Path, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	if p.portFile == "" {
		return nil
	}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	limit := time.NewTimer(portFileWait)
	defer limit.Stop()
	for {
		if b, err := os.ReadFile(p.portFile); err == nil && bytes.HasPrefix(b, []byte("PORT=")) && bytes.HasSuffix(b, []byte("\n")) {
			return nil
		}
		select {
		case <-p.done:
			return p.exitErr()
		case <-limit.C:
			p.kill()
			return fmt.Errorf("%w: no control port after %s; last output:\n%s", ErrExited, portFileWait, p.tail)
		case <-tick.C:
		}
	}
}

func (p *proc) Wait() error {
	<-p.done
	return p.err
}

func (p *proc) EmbeddedControlConn() (net.Conn, error) {
	return nil, process.ErrControlConnUnsupported
}

// exited returns the exit error once the process has exited, nil before.
func (p *proc) exited() error {
	select {
	case <-p.done:
		return p.exitErr()
	default:
		return nil
	}
}

func (p *proc) exitErr() error {
	status := "exit status 0"
	if p.err != nil {
		status = p.err.Error()
	}
	return fmt.Errorf("%w (%s); last output:\n%s", ErrExited, status, strings.TrimSpace(p.tail.String()))
}

// stop waits up to wait for the process to exit, then kills its process
// group and reaps it. It reports whether the kill was needed.
func (p *proc) stop(wait time.Duration) (killed bool) {
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-p.done:
		return false
	case <-t.C:
	}
	p.kill()
	<-p.done
	return true
}

// kill sends SIGKILL to the process group (to the process where there are
// no process groups).
func (p *proc) kill() {
	killGroup(p.cmd.Process)
}

// lineLogger copies tor's output to a tail buffer and logs it line by line
// at debug level (the control port reports the same warnings, with more
// structure).
type lineLogger struct {
	log  *slog.Logger
	tail *tail.Buffer
	mu   sync.Mutex
	part []byte
}

func (l *lineLogger) Write(p []byte) (int, error) {
	l.tail.Write(p)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.part = append(l.part, p...)
	for {
		i := bytes.IndexByte(l.part, '\n')
		if i < 0 {
			return len(p), nil
		}
		l.log.Debug("tor output", "line", string(l.part[:i]))
		l.part = l.part[i+1:]
	}
}
