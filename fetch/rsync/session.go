package rsync

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"time"
)

// Options tune a session. The zero value offers protocol 31, no user, and
// the default checksum and auth digest lists.
type Options struct {
	// Protocol is the highest protocol offered (27 to 31); 0 means 31. The
	// daemon lowers it to its own if older.
	Protocol int
	// User and Password answer a module's auth challenge.
	User, Password string
	// AuthDigests is offered with protocol 30 and later, best first;
	// nil means sha512, sha256, sha1, md5, md4.
	AuthDigests []string
	// Checksums is offered to daemons that negotiate the transfer
	// checksum, best first; nil means xxh128, md5.
	Checksums []string
	// Append is 0 for plain transfers, 1 for --append (requests name the
	// offset the data starts at), 2 for --append-verify (the same, and the
	// daemon's checksum covers the whole file). Before protocol 30 the
	// daemon turns 1 into 2.
	Append int
	// EarlyArgs sends the arguments with the module name instead of after
	// the daemon's OK, a round trip sooner (600 ms a session through
	// Tor); without a User only. A daemon that refuses (a password, max
	// connections) then closes with the arguments unread, and the reset
	// may lose its words: the start fails with a read error instead.
	EarlyArgs bool
	// Want, if set, asks for the one file the session's path names, from
	// Want.Offset (an --append session's claim), and closes the requests,
	// with the filter list: before the file list arrives, a round trip
	// sooner. Request is then not called. If the file list is not one
	// regular file at least Offset long, the session is broken.
	Want *Want
	// MaxFiles and MaxNameBytes bound the file list; 0 means
	// DefaultMaxFiles and DefaultMaxNameBytes.
	MaxFiles, MaxNameBytes int
	// OnMessage, if set, sees each message the daemon sends (info,
	// warnings, errors about single files).
	OnMessage func(Message)
}

// Want is a request sent before the file list (Options.Want).
type Want struct {
	Offset int64
}

func (o *Options) protocol() int {
	if o.Protocol == 0 {
		return MaxProtocol
	}
	return o.Protocol
}

func (o *Options) authDigests() []string {
	if o.AuthDigests == nil {
		return defaultAuthDigests
	}
	return o.AuthDigests
}

func (o *Options) checksums() []string {
	if o.Checksums == nil {
		return defaultChecksums
	}
	return o.Checksums
}

func (o *Options) check() error {
	if p := o.protocol(); p < MinProtocol || p > MaxProtocol {
		return fmt.Errorf("%w: protocol %d (this client speaks %d to %d)", ErrVersion, p, MinProtocol, MaxProtocol)
	}
	if o.Append < 0 || o.Append > 2 {
		return fmt.Errorf("%w: append mode %d", ErrRequest, o.Append)
	}
	if strings.ContainsAny(o.User, " \n\r\x00") {
		return fmt.Errorf("%w: user name %q", ErrRequest, o.User)
	}
	return nil
}

// watch makes conn's blocked reads and writes fail when ctx ends, if conn
// has deadlines. The returned func stops watching.
func watch(ctx context.Context, conn io.ReadWriter) func() bool {
	d, ok := conn.(interface{ SetDeadline(time.Time) error })
	if !ok {
		return func() bool { return true }
	}
	return context.AfterFunc(ctx, func() { d.SetDeadline(time.Unix(1, 0)) })
}

// ctxErr prefers the context's error when the context ended: a failed read
// then is the cancellation, not the peer's fault.
func ctxErr(ctx context.Context, err error) error {
	if err != nil && ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
		return fmt.Errorf("%w (%v)", ctx.Err(), err)
	}
	return err
}

// ListModules reads the module list of the daemon at the other end of
// conn and returns it with the daemon's MOTD. It does not close conn.
func ListModules(ctx context.Context, conn io.ReadWriter, opt Options) ([]Module, []string, error) {
	if err := opt.check(); err != nil {
		return nil, nil, err
	}
	defer watch(ctx, conn)()
	r := bufio.NewReader(conn)
	if _, err := exchangeGreeting(r, conn, &opt); err != nil {
		return nil, nil, ctxErr(ctx, err)
	}
	mods, motd, err := listModules(r, conn)
	return mods, motd, ctxErr(ctx, err)
}

// Session is one transfer from a daemon's module: the file list below a
// path, and requests for files of it answered in order. A Session is not
// safe for concurrent use. The caller owns the connection and closes it
// after Finish or Close (one of which must be called); closing it is also
// how a read is cut short.
type Session struct {
	ctx      context.Context
	stop     func() bool
	conn     io.ReadWriter
	proto    int
	compat   int32
	checksum string
	seed     int32
	appendM  int // append mode the daemon applies
	motd     []string
	files    []File
	byNdx    map[int32]int
	ioErr    int32

	in    *demux
	out   *muxWriter
	rndx  ndxReader
	wndx  ndxWriter
	asked map[int32]bool

	pending  []*pendingReq
	stash    *int32 // a reply index read ahead of its turn
	cur      *Reply
	closedRq bool // DONE sent after the last request
	sawDone  bool // the daemon's first DONE arrived
	broken   error
	finished bool
}

type pendingReq struct {
	file                    File
	offset                  int64
	count, blength, s2, rem int32
	basis                   io.ReaderAt
}

// Start opens module on the daemon at the other end of conn, with the
// file list below path (relative to the module; a trailing "/" lists a
// folder's contents under "."). ctx bounds the whole session, not only the
// start: when it ends, reads and writes on conn fail (if conn has
// deadlines). No timeout is set otherwise: an --append-verify request
// keeps the daemon silent for as long as it reads the file.
func Start(ctx context.Context, conn io.ReadWriter, module, path string, opt Options) (*Session, error) {
	return StartPaths(ctx, conn, module, []string{path}, opt)
}

// StartPaths is Start with several paths in one file list, as rsync's own
// client does for several sources: one session (one handshake) for many
// small files, requested in a pipeline. Entries are named relative to
// each path's parent folder, so two paths with the same last element
// collide and the daemon's list keeps one of them.
func StartPaths(ctx context.Context, conn io.ReadWriter, module string, paths []string, opt Options) (*Session, error) {
	if err := opt.check(); err != nil {
		return nil, err
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("%w: no path", ErrRequest)
	}
	for _, p := range paths {
		if strings.Contains(p, "\x00") {
			return nil, fmt.Errorf("%w: path %q", ErrRequest, p)
		}
	}
	s := &Session{ctx: ctx, conn: conn, stop: watch(ctx, conn), asked: map[int32]bool{}}
	if err := s.start(module, paths, &opt); err != nil {
		if s.out != nil {
			s.out.close(false)
		}
		s.stop()
		return nil, ctxErr(ctx, err)
	}
	return s, nil
}

func (s *Session) start(module string, paths []string, opt *Options) error {
	r := bufio.NewReaderSize(s.conn, 64<<10)
	g, err := exchangeGreeting(r, s.conn, opt)
	if err != nil {
		return err
	}
	s.proto = g.proto
	for _, p := range paths {
		if s.proto < 30 && strings.Contains(p, "\n") {
			return fmt.Errorf("%w: protocol %d cannot send a path with a newline", ErrRequest, s.proto)
		}
	}
	args := []string{"--server", "--sender", "-tre.LsfxCIvu"}
	for range opt.Append {
		args = append(args, "--append")
	}
	args = append(args, ".")
	for _, p := range paths {
		args = append(args, module+"/"+globEscape(strings.TrimPrefix(p, "/")))
	}
	var early []byte
	if opt.EarlyArgs && opt.User == "" {
		early = argBytes(s.proto, args)
	}
	if s.motd, err = openModule(r, s.conn, g, module, opt, early); err != nil {
		return notOpenError{err}
	}
	if early == nil {
		if err := sendArgs(s.conn, s.proto, args); err != nil {
			return err
		}
	}
	s.appendM = opt.Append
	if s.proto < 30 && s.appendM == 1 {
		s.appendM = 2
	}

	lf := listFormat{proto: s.proto, maxFiles: opt.MaxFiles, maxNames: opt.MaxNameBytes}
	if lf.maxFiles <= 0 {
		lf.maxFiles = DefaultMaxFiles
	}
	if lf.maxNames <= 0 {
		lf.maxNames = DefaultMaxNameBytes
	}
	s.checksum = MD4Seeded
	if s.proto >= 30 {
		s.checksum = MD5
		if s.compat, err = readVarint(r, "compat flags"); err != nil {
			return err
		}
		const cfSafeFlist, cfVarintFlags = 1 << 3, 1 << 7
		lf.varintFlags = s.compat&cfVarintFlags != 0
		lf.safeFlist = s.compat&cfSafeFlist != 0 || s.proto >= 31
	}
	// The client's checksum list, the filter list and a request sent
	// ahead go out together, before the daemon's list and seed are read:
	// the daemon sends those without waiting for ours, and reads the
	// filter list after sending the seed; waiting for either costs a
	// round trip.
	var offer []string
	if lf.varintFlags {
		if offer, err = s.offerChecksums(opt.checksums()); err != nil {
			return err
		}
	}
	s.out = newMuxWriter(s.conn, s.proto >= 30)
	s.out.write(appendInt32(nil, 0)) // no filter rules
	s.rndx, s.wndx = newNdxReader(s.proto), newNdxWriter(s.proto)
	var want *pendingReq
	if w := opt.Want; w != nil {
		if w.Offset < 0 || w.Offset > 0 && s.appendM == 0 || w.Offset > math.MaxInt32*maxBlockLen {
			return fmt.Errorf("%w: offset %d asked ahead in append mode %d", ErrRequest, w.Offset, s.appendM)
		}
		// The one file a path names is ndx 0 of its list.
		want = &pendingReq{offset: w.Offset}
		if w.Offset > 0 {
			want.count, want.blength, want.s2, want.rem = appendHeader(w.Offset)
		}
		s.out.write(s.requestBytes(0, want))
		s.out.write(s.wndx.append(nil, ndxDone))
		s.closedRq = true
	}
	if err := s.out.flush(); err != nil {
		return fmt.Errorf("rsync: sending filter list: %w", err)
	}
	if offer != nil {
		if err := s.chooseChecksum(r, offer); err != nil {
			return err
		}
	}
	if s.seed, err = readInt32(r, "checksum seed"); err != nil {
		return err
	}
	s.in = newDemux(r, opt.OnMessage)
	s.files, s.ioErr, err = readFileList(s.in, lf)
	if err != nil {
		return fmt.Errorf("rsync: file list of %s/%s: %w", module, strings.Join(paths, " "), err)
	}
	if len(s.files) == 0 {
		text := fmt.Sprintf("%s/%s", module, strings.Join(paths, " "))
		if de, ok := s.in.lastError().(*DaemonError); ok {
			text = de.Text
		}
		return &DaemonError{Kind: ErrNotFound, Text: text}
	}
	s.byNdx = make(map[int32]int, len(s.files))
	for i, f := range s.files {
		s.byNdx[f.Ndx] = i
	}
	if want != nil {
		if len(s.files) != 1 || s.files[0].Ndx != 0 || s.files[0].Type() != Regular || s.files[0].Size < want.offset {
			// The caller's checks of the list say what is wrong.
			s.broken = fmt.Errorf("%w: the file asked for ahead is not the one regular file listed", ErrRequest)
			return nil
		}
		want.file = s.files[0]
		s.asked[0] = true
		s.pending = append(s.pending, want)
	}
	return nil
}

// globEscape protects a path from the daemon's glob expansion: a path
// with any of "*?[" is expanded (so "a?" would also list "ab"), with
// backslash escapes; a path without them is taken literally, backslashes
// included.
func globEscape(p string) string {
	if !strings.ContainsAny(p, "*?[") {
		return p
	}
	var b strings.Builder
	for _, c := range []byte(p) {
		if strings.IndexByte(`\*?[]`, c) >= 0 {
			b.WriteByte('\\')
		}
		b.WriteByte(c)
	}
	return b.String()
}

// offerChecksums sends the client's checksum list, the known ones of
// ours, best first; the first of them that the daemon has wins
// (chooseChecksum).
func (s *Session) offerChecksums(ours []string) ([]string, error) {
	var offer []string
	for _, c := range ours {
		if knownChecksum(c) {
			offer = append(offer, c)
		}
	}
	if len(offer) == 0 {
		return nil, fmt.Errorf("%w: none offered", ErrNoChecksum)
	}
	if _, err := s.conn.Write(appendVstring(nil, strings.Join(offer, " "))); err != nil {
		return nil, fmt.Errorf("rsync: sending checksum list: %w", err)
	}
	return offer, nil
}

// chooseChecksum reads the daemon's checksum list and takes the first of
// offer that it has.
func (s *Session) chooseChecksum(r *bufio.Reader, offer []string) error {
	theirs, err := readVstring(r, 1024, "checksum list")
	if err != nil {
		return err
	}
	list := strings.Fields(theirs)
	for _, c := range offer {
		if slices.Contains(list, c) {
			s.checksum = c
			return nil
		}
	}
	return fmt.Errorf("%w: daemon offers %q", ErrNoChecksum, theirs)
}

// Protocol is the protocol version in use.
func (s *Session) Protocol() int { return s.proto }

// Checksum is the name of the transfer checksum (XXH128, MD5, MD4Seeded...).
func (s *Session) Checksum() string { return s.checksum }

// Seed is the session's checksum seed.
func (s *Session) Seed() int32 { return s.seed }

// Compat is the daemon's compat flags (0 before protocol 30).
func (s *Session) Compat() int32 { return s.compat }

// AppendMode is the append mode the daemon applies: 0, 1 (--append) or 2
// (--append-verify).
func (s *Session) AppendMode() int { return s.appendM }

// MOTD is what the daemon said before opening the module.
func (s *Session) MOTD() []string { return s.motd }

// Files is the file list, sorted as the daemon sorts it, duplicates
// dropped. The caller must not modify it.
func (s *Session) Files() []File { return s.files }

// IOError is the daemon's io_error flags after the file list (non-zero
// when some of the tree could not be read).
func (s *Session) IOError() int32 { return s.ioErr | s.in.ioErr }

// Messages are the daemon's last messages (at most 256).
func (s *Session) Messages() []Message { return slices.Clone(s.in.msgs) }

// Request is one file asked of a session.
type Request struct {
	File File
	// Offset, in an append session, is the length of the prefix the
	// client holds: the daemon sends the file from there. 0 in other
	// sessions.
	Offset int64
	// Basis, in a session without append, holds the first BasisLen bytes
	// of a local copy: the client sends their block checksums, the daemon
	// refers to blocks that match instead of sending them, and the Reply
	// reads them from Basis. In an --append-verify session Basis, if set,
	// holds the prefix [0, Offset) so the whole-file checksum can be
	// checked.
	Basis    io.ReaderAt
	BasisLen int64
	// BlockLen is the block length for Basis; 0 chooses one.
	BlockLen int
}

// Block length limits: the daemon's MAX_BLOCK_SIZE from protocol 30, the
// smallest rsync chooses itself.
const (
	maxBlockLen = 1 << 17
	minBlockLen = 700
)

// itemTransfer|itemIsNew: "send this file".
const requestIflags = 0x8000 | 0x2000

// Request queues a request; it is sent with the next Next or Flush.
// Several requests may be in flight; their replies come in order.
func (s *Session) Request(r Request) error {
	if s.broken != nil {
		return s.broken
	}
	if s.closedRq || s.finished {
		return fmt.Errorf("%w: requests are closed", ErrClosed)
	}
	i, ok := s.byNdx[r.File.Ndx]
	if !ok || s.files[i].Name != r.File.Name {
		return fmt.Errorf("%w: %q is not in the file list", ErrRequest, r.File.Name)
	}
	f := s.files[i]
	if f.Type() != Regular {
		return fmt.Errorf("%w: %q is a %v", ErrRequest, f.Name, f.Type())
	}
	if s.asked[f.Ndx] {
		return fmt.Errorf("%w: %q asked for twice in one session", ErrRequest, f.Name)
	}
	p := &pendingReq{file: f, offset: r.Offset}
	var sums []byte
	switch {
	case s.appendM > 0:
		if r.Offset < 0 || r.Offset > f.Size {
			return fmt.Errorf("%w: offset %d of %q, a %d-byte file", ErrRequest, r.Offset, f.Name, f.Size)
		}
		if r.Offset > math.MaxInt32*maxBlockLen {
			return fmt.Errorf("%w: offset %d is past what a sum header can claim", ErrRequest, r.Offset)
		}
		if r.Offset > 0 {
			p.count, p.blength, p.s2, p.rem = appendHeader(r.Offset)
		}
		if s.appendM == 2 {
			p.basis = r.Basis
		}
	case r.Offset != 0:
		return fmt.Errorf("%w: an offset needs an --append session", ErrRequest)
	case r.Basis != nil && r.BasisLen > 0:
		var err error
		if sums, err = s.blockSums(p, r); err != nil {
			return err
		}
	}
	s.out.write(s.requestBytes(f.Ndx, p))
	s.out.write(sums)
	s.asked[f.Ndx] = true
	s.pending = append(s.pending, p)
	if len(s.out.buf) > 256<<10 {
		return s.fail(s.out.flush())
	}
	return nil
}

// requestBytes is the request for file ndx: its index, flags and p's sum
// header (the block sums follow).
func (s *Session) requestBytes(ndx int32, p *pendingReq) []byte {
	b := s.wndx.append(nil, ndx)
	if s.proto >= 29 {
		fl := uint16(requestIflags)
		b = append(b, byte(fl), byte(fl>>8))
	}
	for _, v := range []int32{p.count, p.blength, p.s2, p.rem} {
		b = appendInt32(b, v)
	}
	return b
}

// appendHeader is a sum header without sums that claims a local length
// of x: count blocks of blength, the last remainder bytes long.
func appendHeader(x int64) (count, blength, s2, rem int32) {
	blength = maxBlockLen
	count = int32((x + maxBlockLen - 1) / maxBlockLen)
	rem = int32(x % maxBlockLen)
	return count, blength, 2, rem
}

// blockSums reads the basis and returns its block checksums.
func (s *Session) blockSums(p *pendingReq, r Request) ([]byte, error) {
	bl := int64(r.BlockLen)
	if bl <= 0 {
		bl = minBlockLen
		for bl*bl < r.BasisLen && bl < maxBlockLen {
			bl *= 2
		}
	}
	bl = min(bl, maxBlockLen)
	count := (r.BasisLen + bl - 1) / bl
	if count > 1<<30 {
		return nil, fmt.Errorf("%w: basis of %d bytes", ErrRequest, r.BasisLen)
	}
	p.count, p.blength, p.rem = int32(count), int32(bl), int32(r.BasisLen%bl)
	p.s2 = int32(min(16, sumLen(s.checksum)))
	p.basis = r.Basis
	out := make([]byte, 0, count*int64(4+p.s2))
	buf := make([]byte, bl)
	for off := int64(0); off < r.BasisLen; off += bl {
		n := min(bl, r.BasisLen-off)
		if m, err := r.Basis.ReadAt(buf[:n], off); err != nil && !(errors.Is(err, io.EOF) && int64(m) == n) {
			if !errors.Is(err, io.EOF) {
				return nil, fmt.Errorf("rsync: reading basis of %q: %w", r.File.Name, err)
			}
			return nil, fmt.Errorf("%w: basis of %q shorter than %d bytes", ErrRequest, r.File.Name, r.BasisLen)
		}
		out = appendInt32(out, int32(sum1(buf[:n])))
		out = append(out, sum2(s.checksum, s.seed, buf[:n])[:p.s2]...)
	}
	return out, nil
}

// fail marks the session broken by err (when not nil).
func (s *Session) fail(err error) error {
	if err == nil {
		return nil
	}
	err = ctxErr(s.ctx, err)
	if s.broken == nil {
		s.broken = err
	}
	return err
}

// Flush sends queued requests.
func (s *Session) Flush() error {
	if s.broken != nil {
		return s.broken
	}
	return s.fail(s.out.flush())
}

// CloseRequests tells the daemon no more requests follow. Before
// protocol 30 the daemon says nothing about a file it cannot send; after
// CloseRequests, Next reports such files as ErrVanished instead of
// waiting.
func (s *Session) CloseRequests() error {
	if s.broken != nil {
		return s.broken
	}
	if !s.closedRq {
		s.closedRq = true
		s.out.write(s.wndx.append(nil, ndxDone))
	}
	return s.Flush()
}

// Pending is the number of requests whose replies Next has not returned.
func (s *Session) Pending() int { return len(s.pending) }

// Next returns the reply to the oldest pending request. The previous
// reply is read to its end (and discarded) first if the caller did not.
// A file the daemon does not send gives a Reply for it (with no data)
// and an error wrapping ErrVanished; the session goes on.
func (s *Session) Next() (*Reply, error) {
	if s.broken != nil {
		return nil, s.broken
	}
	if s.cur != nil && !s.cur.done {
		if _, err := io.Copy(io.Discard, s.cur); err != nil && !errors.Is(err, ErrChecksum) {
			return nil, err
		}
	}
	s.cur = nil
	if len(s.pending) == 0 {
		return nil, fmt.Errorf("%w: no request pending", ErrRequest)
	}
	if err := s.Flush(); err != nil {
		return nil, err
	}
	head := s.pending[0]
	vanished := func() (*Reply, error) {
		s.pending = s.pending[1:]
		return &Reply{s: s, File: head.file, done: true}, fmt.Errorf("%w: %q", ErrVanished, head.file.Name)
	}
	for {
		if s.sawDone {
			return vanished()
		}
		if s.in.noSend[head.file.Ndx] {
			delete(s.in.noSend, head.file.Ndx)
			return vanished()
		}
		var ndx int32
		if s.stash != nil {
			ndx = *s.stash
		} else {
			if err := s.in.fill(true); err != nil {
				return nil, s.fail(err)
			}
			if s.in.left == 0 {
				continue // a MSG_NO_SEND came: look at the head again
			}
			v, err := s.rndx.read(s.in)
			if err != nil {
				return nil, s.fail(err)
			}
			ndx = v
		}
		switch {
		case ndx == head.file.Ndx:
			s.stash = nil
			return s.readReply(head)
		case ndx == ndxDone:
			s.stash = nil
			s.sawDone = true
			return vanished()
		case s.isPending(ndx):
			s.stash = &ndx
			return vanished()
		default:
			return nil, s.fail(fmt.Errorf("%w: reply for index %d, never asked", ErrProtocol, ndx))
		}
	}
}

func (s *Session) isPending(ndx int32) bool {
	for _, p := range s.pending {
		if p.file.Ndx == ndx {
			return true
		}
	}
	return false
}

// readReply reads the rest of a reply's header after its index.
func (s *Session) readReply(p *pendingReq) (*Reply, error) {
	s.pending = s.pending[1:]
	if s.proto >= 29 {
		fl, err := readUint16(s.in, "item flags")
		if err != nil {
			return nil, s.fail(err)
		}
		const basisFollows, xnameFollows = 1 << 11, 1 << 12
		if fl&basisFollows != 0 {
			if _, err := readByte(s.in, "basis type"); err != nil {
				return nil, s.fail(err)
			}
		}
		if fl&xnameFollows != 0 {
			if _, err := readVstring(s.in, maxPath, "item name"); err != nil {
				return nil, s.fail(err)
			}
		}
	}
	var h [4]int32
	for i, what := range []string{"sum count", "block length", "sum length", "remainder"} {
		v, err := readInt32(s.in, what)
		if err != nil {
			return nil, s.fail(err)
		}
		h[i] = v
	}
	count, blength, s2, rem := h[0], h[1], h[2], h[3]
	maxBl := int32(maxBlockLen)
	if s.proto < 30 {
		maxBl = 1 << 29
	}
	if count < 0 || blength < 0 || blength > maxBl || s2 < 0 || s2 > 64 || rem < 0 || rem > blength {
		return nil, s.fail(fmt.Errorf("%w: sum header %d/%d/%d/%d", ErrProtocol, count, blength, s2, rem))
	}
	if p.basis != nil && s.appendM == 0 && (count != p.count || blength != p.blength || rem != p.rem) {
		return nil, s.fail(fmt.Errorf("%w: sum header echoed as %d/%d/%d, sent %d/%d/%d", ErrProtocol, count, blength, rem, p.count, p.blength, p.rem))
	}
	rp := &Reply{s: s, File: p.file, req: p}
	if s.appendM > 0 {
		fl := int64(count) * int64(blength)
		if rem != 0 {
			fl -= int64(blength - rem)
		}
		rp.Offset = fl
	}
	h2, err := NewFileHash(s.checksum, s.seed)
	if err != nil {
		return nil, s.fail(err)
	}
	rp.hash = h2
	switch {
	case s.appendM == 0 || s.appendM == 1 && s.proto >= 30 || rp.Offset == 0:
		rp.verify = true
	case p.basis != nil && rp.Offset == p.offset:
		// --append-verify covers the prefix too: hash it from the basis.
		if _, err := io.Copy(h2, io.NewSectionReader(p.basis, 0, p.offset)); err != nil {
			return nil, fmt.Errorf("rsync: reading the local prefix of %q: %w", p.file.Name, err)
		}
		rp.verify = true
	}
	s.cur = rp
	return rp, nil
}

// MaxLiteral bounds one literal data token: rsync sends at most 32 KiB.
const MaxLiteral = 32<<10 + 1024

// Reply is the daemon's answer to one Request: the file's bytes from
// Offset to its end, then its whole-file checksum.
type Reply struct {
	s    *Session
	req  *pendingReq
	File File
	// Offset is where the data starts in the file: 0, or in append
	// sessions the offset the daemon took from the request.
	Offset int64

	hash interface {
		Write([]byte) (int, error)
		Sum([]byte) []byte
	}
	verify   bool
	lit      int64 // bytes left of the current literal token
	copyOff  int64 // basis range being copied
	copyLeft int64
	literal  int64
	matched  int64
	sum      []byte
	done     bool
	err      error
}

// Read reads the file's data. At the end it checks the daemon's checksum
// where it covers what was read, and returns io.EOF, or an error wrapping
// ErrChecksum.
func (r *Reply) Read(p []byte) (int, error) {
	for {
		if r.done {
			if r.err != nil {
				return 0, r.err
			}
			return 0, io.EOF
		}
		if len(p) == 0 {
			return 0, nil
		}
		if r.s.broken != nil {
			return 0, r.s.broken
		}
		switch {
		case r.lit > 0:
			n, err := r.s.in.Read(p[:min(int64(len(p)), r.lit)])
			r.lit -= int64(n)
			r.literal += int64(n)
			r.hash.Write(p[:n])
			return n, r.s.fail(err)
		case r.copyLeft > 0:
			n, err := r.req.basis.ReadAt(p[:min(int64(len(p)), r.copyLeft)], r.copyOff)
			r.copyOff += int64(n)
			r.copyLeft -= int64(n)
			r.matched += int64(n)
			r.hash.Write(p[:n])
			if err != nil && !(errors.Is(err, io.EOF) && r.copyLeft == 0) {
				r.done, r.err = true, fmt.Errorf("rsync: reading basis of %q: %w", r.File.Name, err)
				return n, r.s.fail(r.err)
			}
			return n, nil
		}
		t, err := readInt32(r.s.in, "token")
		if err != nil {
			return 0, r.s.fail(err)
		}
		switch {
		case t > 0:
			if t > MaxLiteral {
				return 0, r.s.fail(fmt.Errorf("%w: literal token of %d bytes", ErrLimit, t))
			}
			r.lit = int64(t)
		case t < 0:
			i := -(int64(t) + 1)
			q := r.req
			if q.basis == nil || r.s.appendM != 0 || i >= int64(q.count) {
				return 0, r.s.fail(fmt.Errorf("%w: copy of block %d (of %d)", ErrProtocol, i, q.count))
			}
			r.copyOff = i * int64(q.blength)
			r.copyLeft = int64(q.blength)
			if i == int64(q.count)-1 && q.rem != 0 {
				r.copyLeft = int64(q.rem)
			}
		default:
			sum := make([]byte, sumLen(r.s.checksum))
			if err := readFull(r.s.in, sum, "file checksum"); err != nil {
				return 0, r.s.fail(err)
			}
			r.sum, r.done = sum, true
			if r.verify {
				if got := r.hash.Sum(nil); string(got) != string(sum) {
					r.err = fmt.Errorf("%w: %q: %s is %x, daemon says %x", ErrChecksum, r.File.Name, r.s.checksum, got, sum)
				}
			}
		}
	}
}

// Checksum is the daemon's checksum, known once Read returned io.EOF
// (nil before): of the whole file, except in --append sessions from
// protocol 30 where it covers the data from Offset. algo names the
// algorithm for NewFileHash (with Session.Seed).
func (r *Reply) Checksum() (algo string, sum []byte) { return r.s.checksum, r.sum }

// Verified reports whether the checksum was checked against the data.
func (r *Reply) Verified() bool { return r.done && r.sum != nil && r.verify && r.err == nil }

// Literal and Matched count the bytes read that came as data and those
// taken from the basis.
func (r *Reply) Literal() int64 { return r.literal }

// Matched: see Literal.
func (r *Reply) Matched() int64 { return r.matched }

// Stats are the daemon's totals sent at the end of a session.
type Stats struct {
	Read, Written, Size   int64
	FlistBuild, FlistXfer int64 // protocol 29 and later
}

// Finish ends the session the way rsync does: whatever replies are
// pending are read and dropped, then the end phases are exchanged and the
// daemon's totals read. The caller then closes the connection.
func (s *Session) Finish() (Stats, error) {
	defer s.stop()
	defer s.out.close(false)
	if s.broken != nil {
		return Stats{}, s.broken
	}
	if s.finished {
		return Stats{}, fmt.Errorf("%w: finished already", ErrClosed)
	}
	if err := s.CloseRequests(); err != nil {
		return Stats{}, err
	}
	for len(s.pending) > 0 {
		if _, err := s.Next(); err != nil && !errors.Is(err, ErrVanished) {
			return Stats{}, err
		}
	}
	if s.cur != nil && !s.cur.done {
		if _, err := io.Copy(io.Discard, s.cur); err != nil && !errors.Is(err, ErrChecksum) {
			return Stats{}, err
		}
	}
	expectDone := func(what string) error {
		if s.stash != nil {
			return s.fail(fmt.Errorf("%w: index %d at %s", ErrProtocol, *s.stash, what))
		}
		v, err := s.rndx.read(s.in)
		if err != nil {
			return s.fail(err)
		}
		if v != ndxDone {
			return s.fail(fmt.Errorf("%w: index %d at %s", ErrProtocol, v, what))
		}
		return nil
	}
	send := func() error {
		s.out.write(s.wndx.append(nil, ndxDone))
		return s.fail(s.out.flush())
	}
	if !s.sawDone {
		if err := expectDone("end of phase 1"); err != nil {
			return Stats{}, err
		}
	}
	s.finished = true
	if err := send(); err != nil {
		return Stats{}, err
	}
	if s.proto >= 29 {
		if err := expectDone("end of phase 2"); err != nil {
			return Stats{}, err
		}
		if err := send(); err != nil {
			return Stats{}, err
		}
	}
	if err := expectDone("end of transfer"); err != nil {
		return Stats{}, err
	}
	n := 3
	if s.proto >= 29 {
		n = 5
	}
	var v [5]int64
	for i := range n {
		x, err := readVarlong30(s.in, s.proto, 3, "stats")
		if err != nil {
			return Stats{}, s.fail(err)
		}
		v[i] = x
	}
	if err := send(); err != nil {
		return Stats{}, err
	}
	if s.proto >= 31 {
		if err := expectDone("goodbye"); err != nil {
			return Stats{}, err
		}
		if err := send(); err != nil {
			return Stats{}, err
		}
	}
	s.broken = fmt.Errorf("%w: finished", ErrClosed)
	if err := s.out.close(true); err != nil {
		return Stats{}, ctxErr(s.ctx, err)
	}
	return Stats{Read: v[0], Written: v[1], Size: v[2], FlistBuild: v[3], FlistXfer: v[4]}, nil
}

// Close stops watching the session's context. It does not close the
// connection, which the caller owns.
func (s *Session) Close() error {
	s.out.close(false)
	s.stop()
	if s.broken == nil {
		s.broken = fmt.Errorf("%w", ErrClosed)
	}
	return nil
}
