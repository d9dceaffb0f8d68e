package httpsrc

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"syscall"
	"time"

	"github.com/grab-ir/grab/fetch"
	"golang.org/x/sys/unix"
)

// HTTP/1.1 pipelining (RFC 9112, section 9.3.2): a client may send several
// requests on one connection before the first answer arrives, and the
// server answers them in order. Through Tor every request costs a round
// trip of its circuit (600 ms on the demo model, often more on an onion),
// so a small file fetched alone spends more time being asked for than
// being sent; with a window of requests in flight the round trips overlap
// and the circuit's bandwidth is what counts.
//
// Servers that answer one request per connection (HTTP/1.0, Python's
// http.server, "Connection: close") are found out on the first batch and
// served one request at a time from then on. A connection that closes
// with requests unanswered has them sent again on a new one.

// MaxPipeline is how many requests GetBatch keeps in flight on one
// connection.
const MaxPipeline = 16

// maxDrain is how much of an answer's body that was not wanted is read
// to reach the next answer; a longer one costs the connection instead.
const maxDrain = 256 << 10

// errClosed is a connection the server closed with requests unanswered;
// errSpoilt one that cannot be read on (an answer that was not HTTP, or
// a body too long to skip).
var (
	errClosed = errors.New("the server closed the connection")
	errSpoilt = errors.New("the connection cannot be read on")
)

// GetBatch fetches files over one connection at a time, MaxPipeline
// requests in flight: whole files (Range [0, Size)) and probes (the first
// Range.End bytes of a file of unknown size; see fetch.ProbeBatcher). For each request,
// in order, fn gets its Stream or the error for it; fn must read what it
// wants of the body before it returns (the next answer follows on the
// same connection). An error from fn stops GetBatch and is returned.
func (c *Conn) GetBatch(ctx context.Context, reqs []fetch.Request, fn func(i int, s *fetch.Stream, err error) error) error {
	left := make([]int, len(reqs))
	for i := range left {
		left[i] = i
	}
	fresh := 0 // connections in a row that answered nothing
	for len(left) > 0 {
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
		if _, off := c.pipelineOff.Load(hostOf(reqs[left[0]].URL)); off || len(left) == 1 {
			n, err := c.oneByOne(ctx, reqs, left, fn)
			if err != nil {
				return err
			}
			left = left[n:]
			continue
		}
		n, on, err := c.pipeline(ctx, reqs, left, fn)
		var fnErr *callbackError
		switch {
		case errors.As(err, &fnErr):
			return fnErr.err
		case err != nil && ctx.Err() != nil:
			return context.Cause(ctx) // the caller stopped it: no file's fault
		case err == nil:
		case n == 0 && !errors.Is(err, errClosed) && !errors.Is(err, errSpoilt):
			// nothing got through: the error is that of every file of
			// the connection's host (a dead circuit, a host that is down)
			fresh++
			if fresh > 1 {
				for _, i := range left[:on] {
					if err := fn(i, nil, err); err != nil {
						return err
					}
				}
				left, fresh = left[on:], 0
				continue
			}
		case n == 1 && errors.Is(err, errClosed):
			// one answer a connection: the server does not pipeline
			c.pipelineOff.Store(hostOf(reqs[left[0]].URL), true)
		}
		if n > 0 {
			fresh = 0
		}
		left = left[n:]
	}
	return nil
}

// oneByOne is GetBatch without pipelining: Get for each request of idx
// to the first one's host. It returns how many it handed over.
func (c *Conn) oneByOne(ctx context.Context, reqs []fetch.Request, idx []int, fn func(i int, s *fetch.Stream, err error) error) (int, error) {
	host := hostOf(reqs[idx[0]].URL)
	for k, i := range idx {
		if k > 0 && hostOf(reqs[i].URL) != host {
			return k, nil
		}
		s, err := c.Get(ctx, reqs[i])
		if err != nil {
			if err := fn(i, nil, err); err != nil {
				return k, err
			}
			continue
		}
		err = fn(i, s, nil)
		s.Body.Close()
		if err != nil {
			return k, err
		}
	}
	return len(idx), nil
}

// hostOf is the scheme and host of rawURL, "" if it does not parse.
func hostOf(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

// callbackError carries an error of GetBatch's fn through pipeline.
type callbackError struct{ err error }

func (e *callbackError) Error() string { return e.err.Error() }

// BatchesProbes implements fetch.ProbeBatcher: a GET with a Range is as
// good pipelined as alone.
func (c *Conn) BatchesProbes() bool { return true }

// pipeline sends the requests idx (in order, all to the host of the
// first; it stops at one to another host) on one new connection and hands
// the answers to fn. It returns how many of idx were handed over, how
// many were on the connection, and why it stopped short.
func (c *Conn) pipeline(ctx context.Context, reqs []fetch.Request, idx []int, fn func(i int, s *fetch.Stream, err error) error) (int, int, error) {
	var hreqs []*http.Request
	var ranged []bool
	for _, i := range idx {
		req, rg, err := c.request(ctx, reqs[i])
		if err != nil {
			if len(hreqs) == 0 { // its own error, no one else's
				if err := fn(i, nil, err); err != nil {
					return 0, 0, &callbackError{err}
				}
				return 1, 1, nil
			}
			break
		}
		if len(hreqs) > 0 && (req.URL.Scheme != hreqs[0].URL.Scheme || req.URL.Host != hreqs[0].URL.Host) {
			break
		}
		hreqs, ranged = append(hreqs, req), append(ranged, rg)
	}
	host := hreqs[0].URL.Scheme + "://" + hreqs[0].URL.Host
	kept := c.takeIdle(host) // the last batch's connection, one round trip saved
	if kept != nil && !kept.quiet() {
		kept.conn.Close()
		kept = nil
	}
	var conn net.Conn
	var br *bufio.Reader
	if kept != nil {
		conn, br = kept.conn, kept.br
	} else {
		var err error
		if conn, err = c.dialFor(ctx, hreqs[0]); err != nil {
			return 0, len(hreqs), err
		}
		br = bufio.NewReaderSize(conn, MaxHeaderBytes+4<<10)
	}
	keep := false
	defer func() {
		if !keep {
			conn.Close()
		}
	}()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()

	bw := bufio.NewWriter(conn)
	sent := 0
	send := func(upTo int) error {
		for ; sent < min(upTo, len(hreqs)); sent++ {
			if err := hreqs[sent].Write(bw); err != nil {
				return err
			}
		}
		return bw.Flush()
	}
	if err := send(MaxPipeline); err != nil {
		if kept != nil {
			return 0, len(hreqs), errClosed // it had closed meanwhile: a new one
		}
		return 0, len(hreqs), requestError(ctx, hreqs[0], err)
	}
	for k, req := range hreqs {
		i := idx[k]
		resp, err := readAnswer(conn, br, req)
		if err != nil && (errors.Is(err, errHeaderTooLarge) || errors.Is(err, errInterim) || malformed(err)) {
			// This answer's fault, not the connection's: it fails
			// its file; the rest go on a new connection.
			if err := fn(i, nil, &fetch.TransientError{Err: fmt.Errorf("%s: %w: %v", req.URL.Redacted(), ErrBadAnswer, err), Own: true}); err != nil {
				return k + 1, len(hreqs), &callbackError{err}
			}
			if k+1 == len(hreqs) {
				return k + 1, len(hreqs), nil
			}
			return k + 1, len(hreqs), errSpoilt
		}
		if err != nil {
			if kept != nil && k == 0 && ctx.Err() == nil {
				return 0, len(hreqs), errClosed // it had closed meanwhile: a new one
			}
			return k, len(hreqs), closedOr(ctx, k, req, err)
		}
		if kept != nil && k == 0 && resp.StatusCode == http.StatusRequestTimeout {
			// The server timed the kept connection out as the batch
			// went: its answer to no request (as net/http takes it).
			resp.Body.Close()
			return 0, len(hreqs), errClosed
		}
		body := &drainer{r: resp.Body}
		resp.Body = body
		var s *fetch.Stream
		if resp.StatusCode >= 300 && resp.StatusCode < 400 && resp.Header.Get("Location") != "" {
			// Redirects are followed by the client, with its rules.
			body.Close()
			s, err = c.Get(ctx, reqs[i])
		} else {
			s, err = c.answer(reqs[i], ranged[k], resp)
		}
		if err != nil {
			err = fn(i, nil, own(err))
		} else {
			err = fn(i, s, nil)
			s.Body.Close()
		}
		body.Close()
		if err != nil {
			return k + 1, len(hreqs), &callbackError{err}
		}
		switch {
		case k+1 == len(hreqs):
		case body.spoilt:
			return k + 1, len(hreqs), errSpoilt
		case resp.Close:
			return k + 1, len(hreqs), errClosed
		}
		if err := send(k + 1 + MaxPipeline); err != nil {
			return k + 1, len(hreqs), errClosed
		}
	}
	if stop() { // not cancelled: the connection may serve the next batch
		keep = c.putIdle(host, &idleConn{conn: conn, br: br})
	}
	return len(hreqs), len(hreqs), nil
}

// idleConn is a pipelining connection between batches.
type idleConn struct {
	conn net.Conn
	br   *bufio.Reader
}

// quiet reports whether a kept connection is still open with nothing
// waiting on it: a server may have timed it out (a 408, a close) or sent
// what no request asked for while it was idle, which must never be taken
// as the next request's answer.
func (ic *idleConn) quiet() bool {
	if ic.br.Buffered() > 0 {
		return false
	}
	if q, ok := peekSocket(ic.conn); ok {
		return q
	}
	// Not a socket of its own: wait a moment for what may be there.
	ic.conn.SetReadDeadline(time.Now().Add(time.Millisecond))
	_, err := ic.br.Peek(1)
	ic.conn.SetReadDeadline(time.Time{})
	return errors.Is(err, os.ErrDeadlineExceeded)
}

// peekSocket asks the kernel, without waiting, whether c's socket (under
// TLS, the one beneath) is open with nothing to read. ok is false where c
// has no socket to ask.
func peekSocket(c net.Conn) (quiet, ok bool) {
	if nc, is := c.(interface{ NetConn() net.Conn }); is {
		c = nc.NetConn()
	}
	sc, is := c.(syscall.Conn)
	if !is {
		return false, false
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return false, false
	}
	var buf [1]byte
	rerr := raw.Read(func(fd uintptr) bool {
		_, _, err := unix.Recvfrom(int(fd), buf[:], unix.MSG_PEEK|unix.MSG_DONTWAIT)
		// Only "nothing yet" is quiet: bytes waiting, a close (no
		// error, no byte) or a reset are not.
		quiet = errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EWOULDBLOCK)
		return true // asked once, never waited for
	})
	return quiet, rerr == nil
}

// takeIdle takes the kept connection to host, nil if none.
func (c *Conn) takeIdle(host string) *idleConn {
	c.mu.Lock()
	defer c.mu.Unlock()
	ic := c.idle[host]
	delete(c.idle, host)
	return ic
}

// putIdle keeps a connection to host for the next batch, unless one is
// kept already; it reports whether it kept it.
func (c *Conn) putIdle(host string, ic *idleConn) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.idle[host] != nil || ic.br.Buffered() > 0 { // bytes no request asked for
		return false
	}
	if c.idle == nil {
		c.idle = map[string]*idleConn{}
	}
	c.idle[host] = ic
	return true
}

// closeIdle drops the kept connections. c.mu is held.
func (c *Conn) closeIdle() {
	for h, ic := range c.idle {
		ic.conn.Close()
		delete(c.idle, h)
	}
}

// own marks the error of one answer as its file's own (a 5xx, a wrong
// range): in a batch it counts against that file alone, as it would for
// a Get.
func own(err error) error {
	var tr *fetch.TransientError
	if errors.As(err, &tr) && !tr.Conn {
		tr.Own = true
	}
	return err
}

// answerTimeout bounds the wait for an answer's header, as the client's
// ResponseHeaderTimeout does for Get.
const answerTimeout = 2 * time.Minute

// errInterim is a connection that sends only interim (1xx) answers.
var errInterim = errors.New("more than 5 interim (1xx) answers")

// readAnswer reads the final answer to req: interim ones (100 Continue,
// 103 Early Hints) are skipped, as net/http's client does, so that no
// answer is taken for the next request's; a 101 cannot be read on.
func readAnswer(conn net.Conn, br *bufio.Reader, req *http.Request) (*http.Response, error) {
	conn.SetReadDeadline(time.Now().Add(answerTimeout))
	defer conn.SetReadDeadline(time.Time{}) // a body takes as long as it takes: the caller watches it
	for range 5 {
		if err := headerFits(br); err != nil {
			return nil, err
		}
		resp, err := http.ReadResponse(br, req)
		if err != nil {
			return nil, err
		}
		switch {
		case resp.StatusCode == http.StatusSwitchingProtocols:
			return nil, fmt.Errorf("%w: 101 Switching Protocols to a GET", errInterim)
		case resp.StatusCode >= 100 && resp.StatusCode < 200:
			continue // its header is all of it
		}
		return resp, nil
	}
	return nil, errInterim
}

// closedOr is the error that stopped a connection after k answers: the
// server closing it (an EOF before an answer's first byte), else the
// error as Get would have classified it.
func closedOr(ctx context.Context, k int, req *http.Request, err error) error {
	if k > 0 && (errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed)) && ctx.Err() == nil {
		return errClosed
	}
	return requestError(ctx, req, &url.Error{Op: "Get", URL: req.URL.String(), Err: err})
}

// dialFor opens a connection to req's host on this circuit, with TLS for
// https.
func (c *Conn) dialFor(ctx context.Context, req *http.Request) (net.Conn, error) {
	host, port := req.URL.Hostname(), req.URL.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[req.URL.Scheme]
	}
	c.mu.Lock()
	circ := c.circ
	c.mu.Unlock()
	conn, err := circ.DialContext(ctx, "tcp", net.JoinHostPort(host, port))
	if err != nil {
		return nil, requestError(ctx, req, &url.Error{Op: "Get", URL: req.URL.String(), Err: err})
	}
	if req.URL.Scheme != "https" {
		return conn, nil
	}
	tc := c.tls.Clone()
	if tc == nil {
		tc = &tls.Config{}
	}
	tc.ServerName, tc.NextProtos = host, []string{"http/1.1"}
	tlsConn := tls.Client(conn, tc)
	hctx, cancel := context.WithTimeout(ctx, time.Minute) // as the client's TLSHandshakeTimeout
	defer cancel()
	if err := tlsConn.HandshakeContext(hctx); err != nil {
		conn.Close()
		return nil, requestError(ctx, req, &url.Error{Op: "Get", URL: req.URL.String(), Err: err})
	}
	return tlsConn, nil
}

var errHeaderTooLarge = fmt.Errorf("header larger than %d bytes", MaxHeaderBytes)

// headerFits waits until the next answer's header is in br, and fails if
// it is larger than MaxHeaderBytes (http.ReadResponse has no bound of
// its own).
func headerFits(br *bufio.Reader) error {
	for n := 1; ; {
		b, err := br.Peek(n)
		// The header ends at its first empty line, whichever line
		// ending the server uses (textproto takes a bare "\n" too).
		end := bytes.Index(b, []byte("\n\r\n"))
		if i := bytes.Index(b, []byte("\n\n")); i >= 0 && (end < 0 || i < end) {
			end = i
		}
		switch {
		case end > MaxHeaderBytes:
			return errHeaderTooLarge
		case end >= 0:
			return nil
		}
		if err != nil {
			if len(b) > 0 && errors.Is(err, io.EOF) {
				return nil // let ReadResponse say what is wrong with it
			}
			return err
		}
		if len(b) > MaxHeaderBytes {
			return errHeaderTooLarge
		}
		n = len(b) + 1
		if m := br.Buffered(); m > n {
			n = m
		}
	}
}

// drainer is an answer's body that, closed before its end, reads what is
// left of it (up to maxDrain) so that the next answer can be read; spoilt
// is set when it could not.
type drainer struct {
	r      io.ReadCloser
	closed bool
	spoilt bool
}

func (d *drainer) Read(p []byte) (int, error) { return d.r.Read(p) }

func (d *drainer) Close() error {
	if d.closed {
		return nil
	}
	d.closed = true
	n, err := io.Copy(io.Discard, io.LimitReader(d.r, maxDrain+1))
	if err != nil || n > maxDrain {
		d.spoilt = true
	}
	return d.r.Close()
}
