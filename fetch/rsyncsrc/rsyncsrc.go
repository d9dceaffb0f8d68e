package rsyncsrc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/grab-ir/grab/fetch"
	"github.com/grab-ir/grab/fetch/dial"
	"github.com/grab-ir/grab/fetch/digest"
	"github.com/grab-ir/grab/fetch/listing"
	"github.com/grab-ir/grab/fetch/rsync"
)

// DefaultPort is the rsync daemon's port.
const DefaultPort = "873"

// BusyRetry is how long a file waits after a daemon's "max connections".
const BusyRetry = 30 * time.Second

// Source hands out one rsync Conn per worker, each with its own circuit
// identity. With several Dialers, worker i uses Dialers[i % len(Dialers)];
// with none, every worker uses Dialer.
type Source struct {
	Dialer  *dial.Dialer
	Dialers []*dial.Dialer
	// Password returns the password for user on host's module; nil or ""
	// for none.
	Password func(host, module, user string) string
	// Protocol is the highest protocol offered; 0 means the newest.
	Protocol int
	// Log, if set, gets debug lines (entries List skipped, daemon messages).
	Log *slog.Logger

	// BusyWait is how long a session waits for a free slot of a daemon
	// that answered "max connections" before the request fails (without
	// counting against the file); 0 means 8 s.
	BusyWait time.Duration

	mu       sync.Mutex
	noAppend map[string]bool // host/module that refuse --append
	slowOpen map[string]bool // host/module whose last session with early arguments failed (rsync.Options.EarlyArgs)
	sums     map[sumKey]*sumEntry
	limits   map[string]*limiter // by host/module
}

var (
	_ fetch.Source = (*Source)(nil)
	_ fetch.Conn   = (*Conn)(nil)
)

// DialerFor returns the dialer of worker i.
func (s *Source) DialerFor(i int) *dial.Dialer {
	if n := len(s.Dialers); n > 0 {
		if i < 0 {
			i = -i
		}
		return s.Dialers[i%n]
	}
	return s.Dialer
}

// Conn implements fetch.Source.
func (s *Source) Conn(worker int) fetch.Conn { return s.conn(worker) }

// CostlyStart implements fetch.CostlyStarter: every request is a
// session (greeting, arguments, file list) before any data.
func (c *Conn) CostlyStart() bool { return true }

// TakesBasis implements fetch.BasisTaker: a whole stream (the module
// refuses append) sends only what the basis does not hold.
func (s *Source) TakesBasis(string) bool { return true }

func (s *Source) conn(worker int) *Conn {
	return &Conn{src: s, dialer: s.DialerFor(worker), id: dial.NewIdentity()}
}

// Entries returns the regular files below the folder rawURL, recursively,
// on a fresh identity (see Conn.Entries).
func (s *Source) Entries(ctx context.Context, rawURL string) ([]listing.Entry, error) {
	return s.conn(0).Entries(ctx, rawURL)
}

func (s *Source) refusesAppend(key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.noAppend[key]
}

func (s *Source) setRefusesAppend(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.noAppend == nil {
		s.noAppend = map[string]bool{}
	}
	s.noAppend[key] = true
}

// opensSlowly reports whether the module key's sessions wait for the
// daemon's OK before sending their arguments.
func (s *Source) opensSlowly(key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.slowOpen[key]
}

// slowToOpen makes the module key's sessions wait for the OK, for the
// rest of the run.
func (s *Source) slowToOpen(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.slowOpen == nil {
		s.slowOpen = map[string]bool{}
	}
	s.slowOpen[key] = true
}

func (s *Source) logger() *slog.Logger {
	if s.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Log
}

// Conn is one worker's connections to rsync daemons, all on its circuit.
type Conn struct {
	src    *Source
	dialer *dial.Dialer
	mu     sync.Mutex
	id     dial.Identity
	warm   map[string]net.Conn // by address: dialled ahead, not used yet
}

var (
	_ fetch.Renewer = (*Conn)(nil)
	_ fetch.Warmer  = (*Conn)(nil)
)

// Renew takes a fresh identity for the sessions that follow, and drops
// connections warmed on the old one.
func (c *Conn) Renew() {
	c.mu.Lock()
	c.id = dial.NewIdentity()
	old := c.warm
	c.warm = nil
	c.mu.Unlock()
	for _, conn := range old {
		conn.Close()
	}
}

// Warm dials the daemon of rawURL now, so that the first session does
// not wait for the circuit to be built; the connection is kept for it.
func (c *Conn) Warm(ctx context.Context, rawURL string) error {
	t, err := parse(rawURL)
	if err != nil {
		return err
	}
	c.mu.Lock()
	id := c.id
	c.mu.Unlock()
	conn, err := c.dialer.Dial(ctx, id, "tcp", t.addr)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.id != id { // renewed meanwhile
		conn.Close()
		return nil
	}
	if old := c.warm[t.addr]; old != nil {
		old.Close()
	}
	if c.warm == nil {
		c.warm = map[string]net.Conn{}
	}
	c.warm[t.addr] = conn
	return nil
}

// Close implements fetch.Conn: it drops warmed connections; sessions close
// with their streams.
func (c *Conn) Close() error {
	c.mu.Lock()
	old := c.warm
	c.warm = nil
	c.mu.Unlock()
	for _, conn := range old {
		conn.Close()
	}
	return nil
}

// dial returns the warm connection to addr, or a new one.
func (c *Conn) dial(ctx context.Context, addr string) (net.Conn, error) {
	c.mu.Lock()
	id, conn := c.id, c.warm[addr]
	delete(c.warm, addr)
	c.mu.Unlock()
	if conn != nil {
		return conn, nil
	}
	return c.dialer.Dial(ctx, id, "tcp", addr)
}

// target is a parsed rsync URL.
type target struct {
	u      *url.URL
	addr   string // host:port, host unresolved
	module string
	path   string // below the module, no leading slash
	user   string
	want   *rsync.Want // asked with the session's start (Get)
}

func parse(rawURL string) (target, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return target{}, fmt.Errorf("%w: %v", ErrURL, err)
	}
	if u.Scheme != "rsync" || u.Hostname() == "" {
		return target{}, fmt.Errorf("%w: %q", ErrURL, rawURL)
	}
	port := u.Port()
	if port == "" {
		port = DefaultPort
	}
	p := strings.TrimPrefix(u.Path, "/")
	module, rest, _ := strings.Cut(p, "/")
	if module == "" {
		return target{}, fmt.Errorf("%w: %q names no module", ErrURL, rawURL)
	}
	t := target{u: u, addr: net.JoinHostPort(u.Hostname(), port), module: module, path: rest}
	if u.User != nil {
		t.user = u.User.Username()
	}
	return t, nil
}

func (t target) key() string { return t.addr + "/" + t.module }

// session dials and starts a session for t.
func (c *Conn) session(ctx context.Context, t target, p string, appendMode int) (*rsync.Session, net.Conn, error) {
	return c.start(ctx, t, []string{p}, appendMode, nil)
}

// sessionPaths starts a plain session listing several paths.
func (c *Conn) sessionPaths(ctx context.Context, t target, paths []string) (*rsync.Session, net.Conn, error) {
	return c.start(ctx, t, paths, 0, nil)
}

// startOnce dials and starts a session; wrap, if set, wraps the
// connection before the session uses it (List counts the bytes).
func (c *Conn) startOnce(ctx context.Context, t target, paths []string, appendMode int, wrap func(net.Conn) net.Conn) (*rsync.Session, net.Conn, error) {
	conn, err := c.dial(ctx, t.addr)
	if err != nil {
		if errors.Is(err, dial.ErrOnionNeedsProxy) || errors.Is(err, dial.ErrOnionLocalDNS) {
			return nil, nil, &fetch.PermanentError{Err: err}
		}
		return nil, nil, &fetch.TransientError{Err: fmt.Errorf("rsync: dialing %s: %w", t.addr, err), Conn: ctx.Err() == nil}
	}
	if wrap != nil {
		conn = wrap(conn)
	}
	// Without a user no challenge is answered: the arguments go with the
	// module's name, a round trip sooner. A start that then fails before
	// the module opened, not with the daemon's words (a daemon that
	// refuses closes with the arguments unread, and the reset may lose
	// them: a password asked, max connections), is made again at once
	// waiting for the OK, and so are the module's next ones, for the rest
	// of the run: early arguments are not tried on it again.
	early := t.user == "" && !c.src.opensSlowly(t.key())
	opt := rsync.Options{Protocol: c.src.Protocol, Append: appendMode, User: t.user, EarlyArgs: early, Want: t.want}
	if t.user != "" && c.src.Password != nil {
		opt.Password = c.src.Password(t.u.Hostname(), t.module, t.user)
	}
	log := c.src.logger()
	opt.OnMessage = func(m rsync.Message) {
		log.Debug("rsync daemon says", "url", t.u.Redacted(), "kind", m.Kind, "text", m.Text)
	}
	s, err := rsync.StartPaths(ctx, conn, t.module, paths, opt)
	if err != nil {
		conn.Close()
		if early && ctx.Err() == nil && errors.Is(err, rsync.ErrNotOpen) && !errors.As(err, new(*rsync.DaemonError)) {
			c.src.slowToOpen(t.key())
			return c.startOnce(ctx, t, paths, appendMode, wrap)
		}
		if early && ctx.Err() != nil && !errors.Is(err, rsync.ErrNotOpen) {
			// Cut (a stall) after the module opened, before the daemon
			// answered the arguments: it may have dropped what came
			// early. The module's next sessions wait for the OK.
			c.src.slowToOpen(t.key())
		}
		return nil, nil, classify(err, ctx)
	}
	return s, conn, nil
}

// classify maps the client's errors to the engine's kinds.
func classify(err error, ctx context.Context) error {
	if ctx.Err() == nil {
		err = hint(err)
	}
	switch {
	case ctx.Err() != nil:
		return &fetch.TransientError{Err: err}
	case errors.Is(err, rsync.ErrTryAgain):
		return &fetch.TransientError{Err: fmt.Errorf("%w: %w", ErrBusy, err), RetryAfter: BusyRetry}
	case errors.Is(err, rsync.ErrUnknownModule), errors.Is(err, rsync.ErrAuthFailed),
		errors.Is(err, rsync.ErrRefused), errors.Is(err, rsync.ErrAccessDenied),
		errors.Is(err, rsync.ErrNotFound), errors.Is(err, rsync.ErrVanished),
		errors.Is(err, rsync.ErrVersion), errors.Is(err, rsync.ErrNotRsync),
		errors.Is(err, rsync.ErrNoChecksum), errors.Is(err, ErrNotFile), errors.Is(err, ErrURL):
		return &fetch.PermanentError{Err: err}
	}
	return &fetch.TransientError{Err: err}
}

// Validator identifies a version of a file by its size and mtime.
func Validator(f rsync.File) string {
	return fmt.Sprintf("rsync:%d:%d", f.Size, f.ModTime.UnixNano())
}

// stat opens a session for t's file and returns it with its entry.
func (c *Conn) stat(ctx context.Context, t target, appendMode int) (*rsync.Session, net.Conn, rsync.File, error) {
	if t.path == "" || strings.HasSuffix(t.path, "/") {
		return nil, nil, rsync.File{}, &fetch.PermanentError{Err: fmt.Errorf("%w: %s is a folder", ErrNotFile, t.u.Redacted())}
	}
	s, conn, err := c.session(ctx, t, t.path, appendMode)
	if err != nil {
		return nil, nil, rsync.File{}, err
	}
	files := s.Files()
	want := path.Base(t.path)
	if len(files) != 1 || files[0].Name != want || files[0].Type() != rsync.Regular {
		conn.Close()
		s.Close()
		what := "a folder"
		if len(files) == 1 {
			what = "a " + files[0].Type().String()
		}
		return nil, nil, rsync.File{}, &fetch.PermanentError{Err: fmt.Errorf("%w: %s is %s", ErrNotFile, t.u.Redacted(), what)}
	}
	return s, conn, files[0], nil
}

// Get implements fetch.Conn: one session per request, closed when the
// body is closed or the range is read. A body that reaches the file's end
// ends with the daemon's checksum checked: a mismatch comes with the last
// bytes as a *fetch.ChangedError.
func (c *Conn) Get(ctx context.Context, r fetch.Request) (*fetch.Stream, error) {
	t, err := parse(r.URL)
	if err != nil {
		return nil, &fetch.PermanentError{Err: err}
	}
	start := max(r.Range.Start, 0)
	appendMode := 0
	if start > 0 && !c.src.refusesAppend(t.key()) {
		appendMode = 1
	}
	// The request goes with the session's start, before the file list
	// (a round trip sooner), where what follows the list cannot change
	// it: an offset the daemon takes, no basis to send, no wait for the
	// whole file's checksum before the data.
	toEnd := r.Range.End < 0 || r.Range.End >= r.Size
	if r.Size > 0 && start < r.Size && (start == 0 || appendMode == 1) && r.BasisLen == 0 &&
		(start == 0 || !toEnd || c.src.cachedSum(r.URL, r.Validator) != nil) {
		t.want = &rsync.Want{Offset: start}
	}
	s, conn, f, err := c.stat(ctx, t, appendMode)
	if appendMode == 1 && errors.Is(err, rsync.ErrRefused) {
		c.src.setRefusesAppend(t.key())
		c.src.logger().Debug("rsync module refuses --append: ranges become whole files", "module", t.key())
		appendMode, t.want = 0, nil
		s, conn, f, err = c.stat(ctx, t, 0)
	}
	if err != nil {
		return nil, err
	}
	val := Validator(f)
	fail := func(err error) (*fetch.Stream, error) {
		conn.Close()
		s.Close()
		return nil, err
	}
	if r.Validator != "" && r.Validator != val || r.Size >= 0 && r.Size != f.Size {
		return fail(&fetch.ChangedError{Size: f.Size, Validator: val, Why: fmt.Sprintf("was %s (size %d), is %s", r.Validator, r.Size, val)})
	}
	whole := appendMode == 0 && start > 0
	if whole {
		start = 0
	}
	sums := c.src.cachedSum(r.URL, val)
	if sums == nil && !whole && (start > 0 || r.Range.End >= 0 && r.Range.End < f.Size) && !c.src.refusesAppend(t.key()) {
		// A piece: the file needs its whole-file checksum.
		e := c.sumFor(ctx, r.URL, val)
		if r.Range.End >= 0 && r.Range.End < f.Size {
			select {
			case <-e.done:
				sums = e.set
			default: // a later piece carries it
			}
		} else {
			// The piece that reaches the end waits for it; its data
			// session is closed meanwhile and opened again after.
			conn.Close()
			s.Close()
			t.want = nil
			if sums, err = e.wait(ctx); err != nil {
				if !errors.Is(err, rsync.ErrRefused) {
					return nil, err
				}
				c.src.setRefusesAppend(t.key())
				return c.Get(ctx, r)
			}
			var f2 rsync.File
			if s, conn, f2, err = c.stat(ctx, t, appendMode); err != nil {
				return nil, err
			}
			if Validator(f2) != val {
				return fail(&fetch.ChangedError{Size: f2.Size, Validator: Validator(f2), Why: fmt.Sprintf("was %s, is %s", val, Validator(f2))})
			}
			f = f2
		}
	}
	if start >= f.Size && !whole {
		conn.Close()
		s.Close()
		return &fetch.Stream{Body: io.NopCloser(strings.NewReader("")), Offset: start, Len: 0, Size: f.Size, Validator: val, URL: r.URL, Modified: modified(f)}, nil
	}
	end := f.Size
	if !whole && r.Range.End > start && r.Range.End < f.Size {
		end = r.Range.End
	}
	req := rsync.Request{File: f}
	switch {
	case appendMode > 0:
		req.Offset = start
	case start == 0 && r.Basis != nil && r.BasisLen > 0 && r.BasisLen <= f.Size:
		// The daemon refers to the blocks this side has instead of
		// sending them; the reply reads them from the basis.
		req.Basis, req.BasisLen = r.Basis, r.BasisLen
	}
	if t.want == nil { // (else asked with the start, from the same offset)
		if err := s.Request(req); err != nil {
			return fail(classify(err, ctx))
		}
	}
	// One request per session: saying so lets an old daemon's silence
	// about a vanished file show.
	if err := s.CloseRequests(); err != nil {
		return fail(classify(err, ctx))
	}
	rep, err := s.Next()
	if err != nil {
		return fail(classify(err, ctx))
	}
	if rep.Offset != start {
		return fail(&fetch.TransientError{Err: fmt.Errorf("%w: asked from %d, daemon sends from %d", fetch.ErrBadRange, start, rep.Offset)})
	}
	body := &body{s: s, conn: conn, r: rep, left: end - start, toEnd: end == f.Size}
	st := &fetch.Stream{Body: body, Offset: start, Len: end - start, Size: f.Size, Validator: val, Whole: whole, URL: r.URL, Digests: sums, Modified: modified(f)}
	if start == 0 && end == f.Size {
		st.Checked = checkedSum(s, rep)
	}
	return st, nil
}

// modified is the file's mtime from the list for the copy to take, zero
// if JSON's years (1 to 9999) cannot hold it: a daemon sends any number.
func modified(f rsync.File) time.Time {
	if y := f.ModTime.Year(); y < 1 || y > 9999 {
		return time.Time{}
	}
	return f.ModTime
}

// body reads a reply up to the range end; at the file's end it also
// reads the checksum, so a mismatch shows as an error.
type body struct {
	s     *rsync.Session
	conn  net.Conn
	r     *rsync.Reply
	left  int64
	toEnd bool
	once  sync.Once
}

func (b *body) Read(p []byte) (int, error) {
	if b.left <= 0 {
		return 0, io.EOF
	}
	n, err := b.r.Read(p[:min(int64(len(p)), b.left)])
	b.left -= int64(n)
	if err == io.EOF && b.left > 0 {
		err = fmt.Errorf("%w: %d bytes short", fetch.ErrShortBody, b.left)
	}
	if err == nil && b.left == 0 {
		if b.toEnd {
			// The checksum follows the last byte.
			if _, err := b.r.Read(make([]byte, 1)); err != io.EOF {
				if err == nil {
					err = fmt.Errorf("rsync: %s: data past the listed size", b.r.File.Name)
				}
				return n, checksumChanged(err, b.r.File)
			}
		}
		b.Close()
		return n, io.EOF
	}
	return n, err
}

func (b *body) Close() error {
	b.once.Do(func() {
		b.conn.Close()
		b.s.Close()
	})
	return nil
}

// Checksum asks the daemon for the whole-file checksum of rawURL with
// --append-verify, receiving no data. algo is the rsync checksum name;
// for rsync.MD4Seeded (protocols before 30) it is "md4-seeded:SEED", since
// the sum depends on the session's seed.
func (c *Conn) Checksum(ctx context.Context, rawURL string) (algo string, sum []byte, err error) {
	algo, sum, _, err = c.checksum(ctx, rawURL)
	return algo, sum, err
}

// checksum is Checksum, with the file's entry in the list.
func (c *Conn) checksum(ctx context.Context, rawURL string) (algo string, sum []byte, f rsync.File, err error) {
	t, err := parse(rawURL)
	if err != nil {
		return "", nil, f, &fetch.PermanentError{Err: err}
	}
	s, conn, f, err := c.stat(ctx, t, 2)
	if err != nil {
		return "", nil, f, err
	}
	defer conn.Close()
	defer s.Close()
	if err := s.Request(rsync.Request{File: f, Offset: f.Size}); err != nil {
		return "", nil, f, classify(err, ctx)
	}
	if err := s.CloseRequests(); err != nil {
		return "", nil, f, classify(err, ctx)
	}
	rep, err := s.Next()
	if err != nil {
		return "", nil, f, classify(err, ctx)
	}
	if _, err := io.Copy(io.Discard, rep); err != nil {
		return "", nil, f, classify(err, ctx)
	}
	algo, sum = rep.Checksum()
	if algo == rsync.MD4Seeded {
		algo = digest.SeededMD4(s.Seed())
	}
	return algo, sum, f, nil
}

// Entries returns the regular files below the folder rawURL, recursively,
// from one file list on this Conn's circuit. URLs are absolute with each
// path segment escaped; names are as the daemon sent them (they may hold
// ".." or control characters: map them with care). Symlinks, devices,
// sockets and FIFOs are left out and counted in the log.
func (c *Conn) Entries(ctx context.Context, rawURL string) ([]listing.Entry, error) {
	return c.entries(ctx, rawURL, nil)
}

func (c *Conn) entries(ctx context.Context, rawURL string, wrap func(net.Conn) net.Conn) ([]listing.Entry, error) {
	t, err := parse(rawURL)
	if err != nil {
		return nil, &fetch.PermanentError{Err: err}
	}
	dir := t.path
	if dir != "" && !strings.HasSuffix(dir, "/") {
		dir += "/"
	}
	s, conn, err := c.start(ctx, t, []string{dir}, 0, wrap)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	defer s.Close()
	files := s.Files()
	if len(files) == 1 && files[0].Name != "." {
		return nil, &fetch.PermanentError{Err: fmt.Errorf("%w: %s is a %v", ErrNotFolder, t.u.Redacted(), files[0].Type())}
	}
	base := "/" + t.module + "/" + dir
	var out []listing.Entry
	skipped := map[rsync.Type]int{}
	for _, f := range files {
		switch f.Type() {
		case rsync.Regular:
		case rsync.Dir:
			continue
		default:
			skipped[f.Type()]++
			continue
		}
		u := *t.u
		u.Path = base + f.Name
		u.RawPath = escapePath(base + f.Name)
		u.RawQuery, u.Fragment, u.RawFragment = "", "", ""
		out = append(out, listing.Entry{URL: u.String(), Name: path.Base(f.Name), Size: f.Size, ModTime: f.ModTime})
	}
	for typ, n := range skipped {
		c.src.logger().Info("rsync listing: skipped entries that are not regular files", "url", t.u.Redacted(), "type", typ.String(), "count", n)
	}
	return out, nil
}

// escapePath escapes each segment of p.
func escapePath(p string) string {
	segs := strings.Split(p, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return strings.Join(segs, "/")
}
