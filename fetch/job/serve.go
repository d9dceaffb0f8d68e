package job

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/grab-ir/grab/fetch"
	"github.com/grab-ir/grab/fetch/jobdir"
	"golang.org/x/sys/unix"
)

// The status socket. A running job listens on DIR/.grab/status.sock (mode
// 0600 inside the 0700 state folder: only the job's user can connect).
// A client sends one line naming what it wants and reads one JSON value
// back, then the job closes the connection:
//
//	status   a Report
//	files    every file record ([]fetch.File), pending first in fetch order
//
// It is a local socket, not the network: it never goes through fetch/dial.
const (
	askStatus = "status"
	askFiles  = "files"
	// serveTimeout bounds one exchange, so a client that does not read
	// cannot hold a goroutine.
	serveTimeout = 10 * time.Second
)

// server answers on the status socket.
type server struct {
	ln   net.Listener
	path string
	wg   sync.WaitGroup
	log  *slog.Logger
	rep  func() Report
	ls   func() []fetch.File
}

// serve listens on the job's socket. A socket left by a grab that died is
// removed: whoever holds the job's lock owns the socket.
func serve(dir string, log *slog.Logger, rep func() Report, ls func() []fetch.File) (*server, error) {
	path := socketPath(dir)
	os.Remove(path)
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("serving status: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("serving status: %w", err)
	}
	s := &server{ln: ln, path: path, log: log, rep: rep, ls: ls}
	s.wg.Add(1)
	go s.accept()
	return s, nil
}

func (s *server) accept() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				s.log.Info("status socket", "err", err)
			}
			return
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer c.Close()
			if err := s.answer(c); err != nil {
				s.log.Debug("status socket: answering", "err", err)
			}
		}()
	}
}

func (s *server) answer(c net.Conn) error {
	c.SetDeadline(time.Now().Add(serveTimeout))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	enc := json.NewEncoder(c)
	switch strings.TrimSpace(line) {
	case askStatus:
		return enc.Encode(s.rep())
	case askFiles:
		return enc.Encode(s.ls())
	}
	return enc.Encode(map[string]string{"error": "unknown request"})
}

// close stops listening, waits for the answers under way and removes the
// socket.
func (s *server) close() {
	s.ln.Close()
	s.wg.Wait()
	os.Remove(s.path)
}

// maxAnswer bounds what ask reads: a status is a few KB, the records of
// a job of a million files (grab ls) about 400 MB.
const maxAnswer = 1 << 30

// ask sends one request to the job running in dir and decodes its answer
// into v. It returns ErrNotRunning when nothing answers, or when what
// answers is not the job: the folder is untrusted, so the socket must be
// one (not a link to another job's) and the process behind it the one
// the job's pid file names, which holds the job's lock.
func ask(ctx context.Context, dir, what string, v any) error {
	path := socketPath(dir)
	if fi, err := os.Lstat(path); err != nil || fi.Mode().Type() != os.ModeSocket {
		if err == nil {
			err = fmt.Errorf("%s is not a socket (%v)", path, fi.Mode().Type())
		}
		return fmt.Errorf("%w: %v", ErrNotRunning, err)
	}
	d := net.Dialer{Timeout: 2 * time.Second}
	c, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrNotRunning, err)
	}
	defer c.Close()
	if err := isJob(c, jobdir.Dir(dir)); err != nil {
		return fmt.Errorf("%w: %s: %v", ErrNotRunning, path, err)
	}
	c.SetDeadline(time.Now().Add(serveTimeout))
	if _, err := fmt.Fprintln(c, what); err != nil {
		return fmt.Errorf("asking the running job: %w", err)
	}
	if err := json.NewDecoder(io.LimitReader(c, maxAnswer)).Decode(v); err != nil {
		return fmt.Errorf("reading the running job's answer: %w", err)
	}
	return nil
}

// isJob checks that the process at the other end of c is the one the pid
// file of dir names, run by this user (or this user is root).
func isJob(c net.Conn, dir jobdir.Dir) error {
	pid, err := dir.ReadPID()
	if err != nil {
		return fmt.Errorf("pid file: %v", err)
	}
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return errors.New("not a unix socket")
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return err
	}
	var cred *unix.Ucred
	var cerr error
	if err := raw.Control(func(fd uintptr) { cred, cerr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED) }); err != nil {
		return err
	}
	if cerr != nil {
		return cerr
	}
	if uid := os.Geteuid(); uid != 0 && int(cred.Uid) != uid {
		return fmt.Errorf("answered by user %d", cred.Uid)
	}
	if int(cred.Pid) != pid {
		return fmt.Errorf("answered by pid %d, not the job's %d", cred.Pid, pid)
	}
	return nil
}

// socketPath is the job's socket by the shorter of its absolute path and
// its path from the working folder: a unix socket's name is limited to
// 107 bytes, and a deep output folder can be longer.
func socketPath(dir string) string {
	p := jobdir.Dir(dir).Socket()
	abs, err := filepath.Abs(p)
	if err != nil {
		return p
	}
	wd, err := os.Getwd()
	if err != nil {
		return abs
	}
	if rel, err := filepath.Rel(wd, abs); err == nil && len(rel) < len(abs) {
		return rel
	}
	return abs
}
