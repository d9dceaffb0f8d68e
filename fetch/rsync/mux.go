package rsync

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
)

// Message tags of the multiplexed stream (rsync's MSG_* codes).
const (
	tagData      = 0
	tagErrorXfer = 1
	tagInfo      = 2
	tagError     = 3
	tagWarning   = 4
	tagErrSocket = 5
	tagLog       = 6
	tagClient    = 7
	tagErrUTF8   = 8
	tagRedo      = 9
	tagStats     = 10
	tagIOError   = 22
	tagIOTimeout = 33
	tagNoop      = 42
	tagErrorExit = 86
	tagSuccess   = 100
	tagDeleted   = 101
	tagNoSend    = 102

	muxBase = 7 // added to the tag in a frame header's top byte
)

// MaxMessage is the longest non-data frame accepted; data frames may be
// as long as the 24-bit length allows, since they are streamed, not held.
const MaxMessage = 32 << 10

// maxMessages is how many daemon messages a session keeps.
const maxMessages = 256

// Message is a line the daemon sent alongside the data: information,
// warnings and errors, as rsync's own client would print them.
type Message struct {
	Kind string // "info", "warning", "error", "error-xfer", "log", "client"
	Text string
}

// demux reads rsync's multiplexed stream: frames of a 4-byte header (tag
// and 24-bit length) followed by the payload. Data frames form the byte
// stream read through Read and ReadByte; the other frames are handled as
// they come.
type demux struct {
	r       *bufio.Reader
	left    int // bytes of the current data frame not yet read
	msgs    []Message
	dropped int
	ioErr   int32
	noSend  map[int32]bool // indexes the daemon said it will not send
	fresh   bool           // a MSG_NO_SEND arrived since fill last returned
	exit    error          // set by MSG_ERROR_EXIT
	onMsg   func(Message)
	frames  int64 // frames read, for tests of keep-alives
}

func newDemux(r *bufio.Reader, onMsg func(Message)) *demux {
	return &demux{r: r, onMsg: onMsg}
}

// fill reads frames until a data frame with bytes is current. It returns
// early, with nil, when stopOnNoSend is set and a MSG_NO_SEND arrived
// since the last such return.
func (d *demux) fill(stopOnNoSend bool) error {
	for d.left == 0 {
		if d.exit != nil {
			return d.exit
		}
		if stopOnNoSend && d.fresh {
			d.fresh = false
			return nil
		}
		var h [4]byte
		if _, err := io.ReadFull(d.r, h[:]); err != nil {
			// Every read of the stream expects data: an end here, even
			// between frames, cuts something short.
			return d.endError(eof(err, "frame header"))
		}
		d.frames++
		v := binary.LittleEndian.Uint32(h[:])
		tag := int(v>>24) - muxBase
		n := int(v & 0xFFFFFF)
		if tag == tagData {
			d.left = n // an empty data frame is a keep-alive
			continue
		}
		if !knownTag(tag) {
			return fmt.Errorf("%w: unknown message tag %d", ErrProtocol, tag)
		}
		if n > MaxMessage {
			return fmt.Errorf("%w: message frame (tag %d) of %d bytes", ErrLimit, tag, n)
		}
		payload := make([]byte, n)
		if _, err := io.ReadFull(d.r, payload); err != nil {
			return d.endError(eof(err, "message frame"))
		}
		if err := d.handle(tag, payload); err != nil {
			return err
		}
	}
	return nil
}

func knownTag(tag int) bool {
	switch tag {
	case tagErrorXfer, tagInfo, tagError, tagWarning, tagErrSocket, tagLog, tagClient, tagErrUTF8,
		tagRedo, tagStats, tagIOError, tagIOTimeout, tagNoop, tagErrorExit, tagSuccess, tagDeleted, tagNoSend:
		return true
	}
	return false
}

// endError is what a read at the end of the stream reports: the daemon's
// last error when it said one, else err.
func (d *demux) endError(err error) error {
	if de := d.lastError(); de != nil {
		return de
	}
	return err
}

// lastError builds a DaemonError from the last error message, if any.
func (d *demux) lastError() error {
	for i := len(d.msgs) - 1; i >= 0; i-- {
		m := d.msgs[i]
		if m.Kind == "error" || m.Kind == "error-xfer" {
			return &DaemonError{Kind: classify(m.Text), Text: m.Text}
		}
	}
	return nil
}

func (d *demux) handle(tag int, p []byte) error {
	kind := ""
	switch tag {
	case tagErrorXfer:
		kind = "error-xfer"
	case tagInfo:
		kind = "info"
	case tagError, tagErrSocket, tagErrUTF8:
		kind = "error"
	case tagWarning:
		kind = "warning"
	case tagLog:
		kind = "log"
	case tagClient:
		kind = "client"
	case tagIOError:
		if len(p) != 4 {
			return fmt.Errorf("%w: MSG_IO_ERROR of %d bytes", ErrProtocol, len(p))
		}
		d.ioErr |= int32(binary.LittleEndian.Uint32(p))
		return nil
	case tagNoSend:
		if len(p) != 4 {
			return fmt.Errorf("%w: MSG_NO_SEND of %d bytes", ErrProtocol, len(p))
		}
		if len(d.noSend) >= 1<<16 {
			return fmt.Errorf("%w: too many MSG_NO_SEND", ErrLimit)
		}
		if d.noSend == nil {
			d.noSend = map[int32]bool{}
		}
		d.noSend[int32(binary.LittleEndian.Uint32(p))] = true
		d.fresh = true
		return nil
	case tagNoop, tagIOTimeout, tagSuccess, tagDeleted, tagStats, tagRedo:
		return nil
	case tagErrorExit:
		code := 0
		if len(p) >= 4 {
			code = int(int32(binary.LittleEndian.Uint32(p)))
		}
		de, _ := d.lastError().(*DaemonError)
		if de == nil {
			de = &DaemonError{Kind: ErrRemote, Text: "daemon exited with an error"}
		}
		de.Code = code
		d.exit = de
		return de
	default:
		return fmt.Errorf("%w: unknown message tag %d", ErrProtocol, tag)
	}
	m := Message{Kind: kind, Text: strings.TrimRight(string(p), "\r\n")}
	if len(d.msgs) >= maxMessages {
		copy(d.msgs, d.msgs[1:])
		d.msgs = d.msgs[:len(d.msgs)-1]
		d.dropped++
	}
	d.msgs = append(d.msgs, m)
	if d.onMsg != nil {
		d.onMsg(m)
	}
	return nil
}

func (d *demux) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if err := d.fill(false); err != nil {
		return 0, err
	}
	if len(p) > d.left {
		p = p[:d.left]
	}
	n, err := d.r.Read(p)
	d.left -= n
	if err == io.EOF {
		err = d.endError(eof(io.ErrUnexpectedEOF, "data frame"))
	}
	return n, err
}

func (d *demux) ReadByte() (byte, error) {
	if err := d.fill(false); err != nil {
		return 0, err
	}
	b, err := d.r.ReadByte()
	if err != nil {
		return 0, d.endError(eof(io.ErrUnexpectedEOF, "data frame"))
	}
	d.left--
	return b, nil
}

// classify names the kind of a daemon's error by its words.
func classify(text string) error {
	t := strings.ToLower(text)
	switch {
	case strings.Contains(t, "unknown module"):
		return ErrUnknownModule
	case strings.Contains(t, "auth failed"):
		return ErrAuthFailed
	case strings.Contains(t, "max connections"), strings.Contains(t, "try again later"):
		return ErrTryAgain
	case strings.Contains(t, "refuse"):
		return ErrRefused
	case strings.Contains(t, "access denied"):
		return ErrAccessDenied
	case strings.Contains(t, "no such file or directory"):
		return ErrNotFound
	}
	return ErrRemote
}

// muxWriter frames what the client sends as data frames (protocol 30 and
// later); before 30 the client's side is not multiplexed. Writes go out
// from a goroutine of their own, so that a long request (block sums) never
// blocks the session while the daemon, busy sending an earlier reply,
// waits for it to read: both sides would wait forever.
type muxWriter struct {
	w   io.Writer
	mux bool
	buf []byte

	queue   chan []byte
	stopped chan struct{}
	mu      sync.Mutex
	err     error
	closed  bool
}

func newMuxWriter(w io.Writer, mux bool) *muxWriter {
	m := &muxWriter{w: w, mux: mux, queue: make(chan []byte, 64), stopped: make(chan struct{})}
	go m.loop()
	return m
}

func (m *muxWriter) loop() {
	defer close(m.stopped)
	for b := range m.queue {
		if m.error() != nil {
			continue // drop: the connection is broken
		}
		if _, err := m.w.Write(b); err != nil {
			m.mu.Lock()
			m.err = err
			m.mu.Unlock()
		}
	}
}

func (m *muxWriter) error() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.err
}

func (m *muxWriter) write(p []byte) { m.buf = append(m.buf, p...) }

// flush hands what was written to the writer goroutine as one or more
// frames; it reports an earlier write's failure.
func (m *muxWriter) flush() error {
	if err := m.error(); err != nil {
		return err
	}
	if m.closed {
		return ErrClosed
	}
	if len(m.buf) == 0 {
		return nil
	}
	var out []byte
	if !m.mux {
		out = slices.Clone(m.buf)
	} else {
		const max = 1<<24 - 1
		out = make([]byte, 0, len(m.buf)+4*(len(m.buf)/max+1))
		for p := m.buf; len(p) > 0; {
			n := min(len(p), max)
			out = binary.LittleEndian.AppendUint32(out, uint32(muxBase+tagData)<<24|uint32(n))
			out = append(out, p[:n]...)
			p = p[n:]
		}
	}
	m.buf = m.buf[:0]
	m.queue <- out
	return nil
}

// close stops the goroutine once what was flushed is written; with wait
// it waits for that and reports a write that failed. Without, a write
// still blocked ends when the connection is closed.
func (m *muxWriter) close(wait bool) error {
	if !m.closed {
		m.closed = true
		close(m.queue)
	}
	if !wait {
		return nil
	}
	<-m.stopped
	return m.error()
}
