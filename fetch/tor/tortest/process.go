package tortest

import (
	"bytes"
	"fmt"
	"github.com/grab-ir/grab/fetch/internal/tail"
	"io"
	"os/exec"
	"sync"
)

// proc is one running tor process owned by a Network.
type proc struct {
	name string
	cmd  *exec.Cmd
	tail *tail.Buffer
	done chan struct{} // closed when the process has exited and was reaped
	err  error         // cmd.Wait's result, valid after done
}

// startProc starts tor with args in the foreground. Its output goes to a
// bounded tail buffer (for error messages) and, when log is not nil, to log
// with every line prefixed by name.
func startProc(name, tor string, args []string, log io.Writer) (*proc, error) {
	p := &proc{name: name, tail: &tail.Buffer{Max: 4096}, done: make(chan struct{})}
	var out io.Writer = p.tail
	if log != nil {
		out = io.MultiWriter(p.tail, &prefixWriter{prefix: name + ": ", w: log})
	}
	p.cmd = exec.Command(tor, args...)
	p.cmd.Stdout = out
	p.cmd.Stderr = out
	p.cmd.SysProcAttr = sysProcAttr()
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting tor for %s: %w", name, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// exited returns ErrTorExited with the end of the process's output if it has
// exited, and nil while it runs.
func (p *proc) exited() error {
	select {
	case <-p.done:
		return fmt.Errorf("%w: %s (%v); last output:\n%s", ErrTorExited, p.name, p.err, p.tail.String())
	default:
		return nil
	}
}

// logWriter serialises writes from several processes to one io.Writer.
type logWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *logWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// prefixWriter writes whole lines to w, each prefixed; a partial line waits
// for its end.
type prefixWriter struct {
	prefix string
	w      io.Writer
	part   []byte
}

func (pw *prefixWriter) Write(p []byte) (int, error) {
	pw.part = append(pw.part, p...)
	for {
		i := bytes.IndexByte(pw.part, '\n')
		if i < 0 {
			return len(p), nil
		}
		line := make([]byte, 0, len(pw.prefix)+i+1)
		line = append(append(line, pw.prefix...), pw.part[:i+1]...)
		pw.part = pw.part[i+1:]
		if _, err := pw.w.Write(line); err != nil {
			return len(p), err
		}
	}
}
