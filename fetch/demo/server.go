package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// handshakeTimeout bounds a SOCKS greeting and request, so a silent client
// does not hold a goroutine until Close.
const handshakeTimeout = 30 * time.Second

// Server is a running demo source: a SOCKS5 proxy whose only reachable host
// is the onion name Host, and a direct HTTP listener, both on 127.0.0.1 and
// both serving the same dump through the same link.
type Server struct {
	dump  *Dump
	model Model
	host  string
	start time.Time

	socksLn net.Listener
	httpLn  net.Listener
	pipes   *pipeListener
	hs      *http.Server
	link    *bucket

	done      chan struct{} // closed by Close
	closeOnce sync.Once
	stopCtx   func() bool
	wg        sync.WaitGroup // goroutines the server started
	httpConns sync.WaitGroup // HTTP connections not yet closed or hijacked

	mu       sync.Mutex
	closed   bool
	circuits map[string]*circuit
	order    []*circuit
	live     map[net.Conn]struct{} // client connections, SOCKS and direct
	streams  map[*stream]struct{}
	directs  int
	nStreams int

	sent, body, requests, ranges, stalls, cuts atomic.Int64

	backend     string // StartRelay: what streams connect to instead of the dump
	backendPort int
}

// Start serves dump under model m on two loopback listeners until ctx is
// done or Close is called.
func Start(ctx context.Context, dump *Dump, m Model) (*Server, error) {
	if dump == nil {
		return nil, errors.New("start demo server: nil dump")
	}
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("start demo server: %w", err)
	}
	var lc net.ListenConfig
	socksLn, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("start demo server: listen for SOCKS: %w", err)
	}
	httpLn, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		socksLn.Close()
		return nil, fmt.Errorf("start demo server: listen for HTTP: %w", err)
	}
	now := time.Now()
	s := &Server{
		dump:     dump,
		model:    m,
		host:     onionName(m.Seed),
		start:    now,
		socksLn:  socksLn,
		httpLn:   httpLn,
		pipes:    newPipeListener(),
		link:     newBucket(m.LinkCap, float64(64<<10), now),
		done:     make(chan struct{}),
		circuits: make(map[string]*circuit),
		live:     make(map[net.Conn]struct{}),
		streams:  make(map[*stream]struct{}),
	}
	s.hs = &http.Server{
		Handler: http.HandlerFunc(s.serveHTTP),
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			if pc, ok := c.(*pipeConn); ok {
				return context.WithValue(ctx, streamKey{}, pc.st)
			}
			return ctx
		},
		ConnState: func(_ net.Conn, state http.ConnState) {
			switch state {
			case http.StateNew:
				s.httpConns.Add(1)
			case http.StateClosed, http.StateHijacked:
				s.httpConns.Done()
			}
		},
		ErrorLog: log.New(io.Discard, "", 0),
	}
	s.wg.Go(func() { _ = s.hs.Serve(s.pipes) })
	s.wg.Go(func() { s.acceptLoop(socksLn, s.serveSOCKS) })
	s.wg.Go(func() { s.acceptLoop(httpLn, s.serveDirect) })
	s.stopCtx = context.AfterFunc(ctx, func() { s.Close() })
	return s, nil
}

// Close stops the listeners, closes every connection, and returns when all
// the server's goroutines have ended. It is safe to call more than once.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		s.stopCtx()
		s.mu.Lock()
		s.closed = true
		conns := make([]net.Conn, 0, len(s.live))
		for c := range s.live {
			conns = append(conns, c)
		}
		streams := make([]*stream, 0, len(s.streams))
		for st := range s.streams {
			streams = append(streams, st)
		}
		s.mu.Unlock()
		close(s.done)
		s.socksLn.Close()
		s.httpLn.Close()
		s.pipes.Close()
		_ = s.hs.Close()
		for _, st := range streams {
			st.close()
		}
		for _, c := range conns {
			c.Close()
		}
		s.wg.Wait()
		s.httpConns.Wait()
	})
	return nil
}

// Host returns the onion name the SOCKS proxy serves, a valid v3 address
// derived from Model.Seed.
func (s *Server) Host() string { return s.host }

// SOCKSAddr returns the proxy's address, "127.0.0.1:port".
func (s *Server) SOCKSAddr() string { return s.socksLn.Addr().String() }

// BaseURL returns "http://<Host>/dump/", the dump's root through the proxy.
func (s *Server) BaseURL() string { return "http://" + s.host + "/dump/" }

// HTTPURL returns "http://127.0.0.1:port/dump/", the dump's root for tools
// without SOCKS; each TCP connection to it is its own circuit.
func (s *Server) HTTPURL() string { return "http://" + s.httpLn.Addr().String() + "/dump/" }

// URLs returns every file's URL under BaseURL, percent-escaped, in path
// order.
func (s *Server) URLs() []string {
	urls := make([]string, len(s.dump.files))
	for i, f := range s.dump.files {
		urls[i] = s.BaseURL() + EscapePath(f.Path)
	}
	return urls
}

// Dump returns the served dump.
func (s *Server) Dump() *Dump { return s.dump }

// Model returns the model the server runs.
func (s *Server) Model() Model { return s.model }

func (s *Server) acceptLoop(ln net.Listener, serve func(net.Conn)) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return // closed by Close
		}
		if !s.track(c) {
			c.Close()
			return
		}
		s.wg.Go(func() { serve(c) })
	}
}

// track registers a client connection so Close can end it; false after
// Close.
func (s *Server) track(c net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.live[c] = struct{}{}
	return true
}

func (s *Server) drop(c net.Conn) {
	c.Close()
	s.mu.Lock()
	delete(s.live, c)
	s.mu.Unlock()
}

// sleep waits d, or less if the server closes; it reports whether the full
// wait elapsed.
func (s *Server) sleep(d time.Duration) bool {
	return sleepUntilDone(d, s.done)
}

func sleepUntilDone(d time.Duration, done <-chan struct{}) bool {
	if d <= 0 {
		select {
		case <-done:
			return false
		default:
			return true
		}
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-done:
		return false
	}
}

func (s *Server) serveSOCKS(c net.Conn) {
	_ = c.SetDeadline(time.Now().Add(handshakeTimeout))
	var req socksRequest
	if err := readGreeting(c, c, &req); err != nil {
		s.drop(c)
		return
	}
	reply, err := readRequest(c, &req)
	if err != nil {
		s.drop(c)
		return
	}
	if reply == replySucceeded {
		s.socksPort(&req)
		reply = route(&req, s.host, s.model.UnknownOnion)
	}
	if reply != replySucceeded {
		_ = writeReply(c, reply)
		s.drop(c)
		return
	}
	_ = c.SetDeadline(time.Time{})
	circ := s.circuit(circuitID(&req), false)
	wait, n := circ.connect(time.Now(), s.model)
	if !s.sleep(wait) || writeReply(c, replySucceeded) != nil {
		circ.release(time.Now())
		s.drop(c)
		return
	}
	s.relay(c, circ, n)
}

func (s *Server) serveDirect(c net.Conn) {
	s.mu.Lock()
	s.directs++
	id := directID(s.directs)
	s.mu.Unlock()
	circ := s.circuit(id, true)
	wait, n := circ.connect(time.Now(), s.model)
	if !s.sleep(wait) {
		circ.release(time.Now())
		s.drop(c)
		return
	}
	s.relay(c, circ, n)
}

// circuit returns the circuit with this identity, creating it unbuilt.
func (s *Server) circuit(id string, direct bool) *circuit {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.circuits[id]
	if !ok {
		c = &circuit{id: id, direct: direct, bucket: newBucket(0, 0, s.start)}
		s.circuits[id] = c
		s.order = append(s.order, c)
	}
	return c
}

// relay connects client to the HTTP server through a pipe and runs the
// stream until either side ends it. It runs on the connection's goroutine.
func (s *Server) relay(client net.Conn, circ *circuit, n int) {
	near, far := net.Pipe()
	st := &stream{
		srv:    s,
		circ:   circ,
		client: client,
		near:   near,
		far:    far,
		done:   make(chan struct{}),
		rng:    s.model.rng("faults", circ.id, uint64(n)),
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		st.close()
		return
	}
	s.streams[st] = struct{}{}
	s.nStreams++
	s.mu.Unlock()
	if !s.handOff(far, st) {
		st.close()
		return
	}
	up := make(chan packet, 64)
	s.wg.Go(func() { st.readClient(up) })
	s.wg.Go(func() { st.writeServer(up) })
	st.pump()
}

// account records n bytes sent to a client of circ at time now, body of
// them file body bytes (negative to take back bytes a failed write did not
// send).
func (s *Server) account(circ *circuit, n int, body int64, now time.Time) {
	s.sent.Add(int64(n))
	s.body.Add(body)
	circ.mu.Lock()
	defer circ.mu.Unlock()
	circ.bytes += int64(n)
	i := int(now.Sub(s.start) / timelineRes)
	if i >= len(circ.bins) {
		circ.bins = append(circ.bins, make([]int64, i+1-len(circ.bins))...)
	}
	circ.bins[i] += int64(n)
}

// circuit is one Tor circuit (or one direct TCP connection): a speed shared
// by all its streams, a build time, and accounting.
type circuit struct {
	id     string
	direct bool
	bucket *bucket

	mu         sync.Mutex
	speed      float64
	builds     int
	readyAt    time.Time
	open       int
	lastActive time.Time
	streams    int
	bytes      int64
	bins       []int64 // bytes per timelineRes since Server.start
}

// connect opens a stream at time now, building or rebuilding the circuit if
// needed, and returns how long the CONNECT takes and the stream's number on
// this circuit (from 1).
func (c *circuit) connect(now time.Time, m Model) (time.Duration, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.builds == 0 || (c.open == 0 && now.Sub(c.lastActive) >= m.idle()) {
		c.builds++
		c.speed = m.CircuitSpeed(c.id, c.builds)
		c.bucket.setRate(c.speed, float64(chunkFor(c.speed)), now)
		c.readyAt = now
		if !c.direct {
			c.readyAt = now.Add(m.Build)
		}
	}
	c.open++
	c.streams++
	return max(c.readyAt.Sub(now), 0) + m.RTT, c.streams
}

// release ends a stream at time now.
func (c *circuit) release(now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.open--
	c.lastActive = now
}

func (c *circuit) chunk() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return chunkFor(c.speed)
}

// stream is one SOCKS CONNECT (or one direct connection): bytes from the
// client reach the HTTP server RTT late; bytes back are paced by the
// circuit's and the link's buckets.
type stream struct {
	srv    *Server
	circ   *circuit
	client net.Conn
	near   net.Conn // relay's end of the pipe
	far    net.Conn // HTTP server's end

	done chan struct{}
	once sync.Once

	mu  sync.Mutex
	rng *rand.Rand // fault decisions, seeded per circuit and stream number

	// The HTTP server's bytes on the pipe, numbered from 0, and where
	// file bodies lie among them, so pump can tell body bytes from
	// headers and listings.
	bmu     sync.Mutex
	written int64    // bytes the HTTP server has written into far
	bodies  []extent // not yet passed by pump, in order; the last may be open
}

// extent is the pipe bytes [from, to) of one file body; to is -1 while the
// body is being written.
type extent struct{ from, to int64 }

// wrote records n more bytes written into the pipe by the HTTP server.
func (st *stream) wrote(n int) {
	st.bmu.Lock()
	st.written += int64(n)
	st.bmu.Unlock()
}

// bodyStart marks the next byte written into the pipe as the start of a
// file body; bodyEnd marks its end. The handler calls them with its
// buffers flushed, so written is exact.
func (st *stream) bodyStart() {
	st.bmu.Lock()
	st.bodies = append(st.bodies, extent{from: st.written, to: -1})
	st.bmu.Unlock()
}

func (st *stream) bodyEnd() {
	st.bmu.Lock()
	if k := len(st.bodies) - 1; k >= 0 && st.bodies[k].to < 0 {
		st.bodies[k].to = st.written
	}
	st.bmu.Unlock()
}

// bodyIn returns how many of the pipe bytes [from, to) belong to file
// bodies, and forgets the bodies that end before to. pump calls it with
// consecutive ranges; a body's start is always marked before its bytes
// can be read.
func (st *stream) bodyIn(from, to int64) int64 {
	st.bmu.Lock()
	defer st.bmu.Unlock()
	var n int64
	done := 0
	for _, e := range st.bodies {
		end := e.to
		if end < 0 {
			end = to
		}
		if lo, hi := max(from, e.from), min(to, end); hi > lo {
			n += hi - lo
		}
		if e.to >= 0 && e.to <= to {
			done++
			continue
		}
		break
	}
	st.bodies = st.bodies[done:]
	return n
}

type packet struct {
	b  []byte
	at time.Time
}

func (st *stream) readClient(up chan<- packet) {
	defer close(up)
	for {
		buf := make([]byte, 16<<10)
		n, err := st.client.Read(buf)
		if n > 0 {
			select {
			case up <- packet{b: buf[:n], at: time.Now()}:
			case <-st.done:
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// writeServer delivers client bytes one RTT after they arrived, and ends
// the stream when the client has finished.
func (st *stream) writeServer(up <-chan packet) {
	defer st.close()
	for p := range up {
		if !sleepUntilDone(time.Until(p.at.Add(st.srv.model.RTT)), st.done) {
			return
		}
		if _, err := st.near.Write(p.b); err != nil {
			return
		}
	}
}

// pump copies the server's bytes to the client at the paced rate.
func (st *stream) pump() {
	defer st.close()
	buf := make([]byte, st.circ.chunk())
	var off int64 // pipe bytes read so far
	for {
		n, err := st.near.Read(buf)
		if n > 0 {
			body := st.bodyIn(off, off+int64(n))
			off += int64(n)
			if !sleepUntilDone(st.circ.bucket.reserve(n, time.Now()), st.done) ||
				!sleepUntilDone(st.srv.link.reserve(n, time.Now()), st.done) {
				return
			}
			// Counted before the client can read them, so that a client
			// holding the bytes finds them in Stats; a write that fails
			// takes back what it did not hand to the kernel.
			now := time.Now()
			st.srv.account(st.circ, n, body, now)
			if w, err := st.client.Write(buf[:n]); err != nil {
				unsent := n - w
				st.srv.account(st.circ, -unsent, -body*int64(unsent)/int64(n), now)
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// drawFault decides, for a response body of n > 0 bytes, whether it is cut
// or stalls and after how many bytes.
func (st *stream) drawFault(n int64) (fault, cut bool, at int64) {
	st.mu.Lock()
	defer st.mu.Unlock()
	cut = st.rng.Float64() < st.srv.model.CutProb
	stall := st.rng.Float64() < st.srv.model.StallProb
	at = st.rng.Int64N(n)
	return cut || stall, cut, at
}

func (st *stream) close() {
	st.once.Do(func() {
		close(st.done)
		st.client.Close()
		st.near.Close()
		st.far.Close()
		st.srv.mu.Lock()
		delete(st.srv.streams, st)
		delete(st.srv.live, st.client)
		st.srv.mu.Unlock()
		st.circ.release(time.Now())
	})
}

// pipeConn is the HTTP server's end of a stream, carrying the stream so the
// handler can find its fault generator.
type pipeConn struct {
	net.Conn
	st *stream
}

// Write counts the bytes the HTTP server writes into the stream.
func (c *pipeConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	c.st.wrote(n)
	return n, err
}

type streamKey struct{}

// pipeListener hands pipe ends to http.Server.Serve.
type pipeListener struct {
	ch   chan net.Conn
	done chan struct{}
	once sync.Once
}

func newPipeListener() *pipeListener {
	return &pipeListener{ch: make(chan net.Conn), done: make(chan struct{})}
}

func (l *pipeListener) hand(c net.Conn) bool {
	select {
	case l.ch <- c:
		return true
	case <-l.done:
		return false
	}
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ch:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *pipeListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *pipeListener) Addr() net.Addr { return pipeAddr{} }

type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "demo" }

var _ net.Listener = (*pipeListener)(nil)

// sortedCircuits returns the circuits in order of first use.
func (s *Server) sortedCircuits() []*circuit {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.order)
}
