package httpsrc

import (
	"compress/gzip"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/grab-ir/grab/fetch"
	"github.com/grab-ir/grab/fetch/dial"
	"github.com/grab-ir/grab/fetch/digest"
	"github.com/grab-ir/grab/fetch/listing"
	"github.com/grab-ir/grab/fetch/span"
)

// UserAgent is sent with every request made directly, unless Source.Header
// names another.
const UserAgent = "grab/0.1"

// What Tor Browser sends, for requests through a proxy or grab's Tor: a
// site's operator then sees one more Tor Browser, not grab. Tor Browser 15
// (Firefox ESR 140) reports Windows on every system. Update both with each
// Tor Browser major release (docs/usage.md, "Blending in").
const (
	BrowserUserAgent      = "Mozilla/5.0 (Windows NT 10.0; rv:140.0) Gecko/20100101 Firefox/140.0"
	BrowserAccept         = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
	BrowserAcceptLanguage = "en-US,en;q=0.5"
)

// BrowserHeader is the header of Tor Browser's requests.
func BrowserHeader() http.Header {
	return http.Header{"User-Agent": {BrowserUserAgent}, "Accept": {BrowserAccept}, "Accept-Language": {BrowserAcceptLanguage}}
}

// Source hands out one HTTP client per worker, each with its own identity.
// With several Dialers (one per tor process, for example), worker i uses
// Dialers[i % len(Dialers)] for its whole life, renewals included; with
// none, every worker uses Dialer.
type Source struct {
	Dialer  *dial.Dialer
	Dialers []*dial.Dialer
	Now     func() time.Time
	// TLS configures HTTPS (-k, --cacert); nil trusts the system's
	// authorities.
	TLS *tls.Config
	// Header is sent with every request (User-Agent, -H); without a
	// User-Agent, UserAgent is. Range, If-Range and Accept-Encoding are
	// grab's own and never taken from it.
	Header http.Header
	// Cookies go with the requests they match (-b).
	Cookies []Cookie
}

var _ fetch.Source = (*Source)(nil)

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
func (s *Source) Conn(worker int) fetch.Conn {
	d := s.DialerFor(worker)
	circ := d.NewCircuit()
	return &Conn{dialer: d, tls: s.TLS, header: s.Header, cookies: s.Cookies, circ: circ, client: newClient(circ.DialContext, s.TLS), now: s.Now}
}

// Conn is one circuit's HTTP client, shared by its streams.
type Conn struct {
	dialer  *dial.Dialer
	tls     *tls.Config
	header  http.Header
	cookies []Cookie
	now     func() time.Time
	mu      sync.Mutex
	circ    *dial.Circuit
	client  *http.Client
	// pipelineOff holds the hosts seen to answer one request per
	// connection: GetBatch asks them one at a time from then on.
	pipelineOff sync.Map             // host → true
	idle        map[string]*idleConn // GetBatch's connection between batches, by host (under mu)
}

var (
	_ fetch.Renewer = (*Conn)(nil)
	_ fetch.Warmer  = (*Conn)(nil)
	_ fetch.Lister  = (*Conn)(nil)
)

// Renew switches to a new identity, hence a new circuit, for the requests
// that follow; requests under way finish on the old one.
func (c *Conn) Renew() {
	c.mu.Lock()
	c.closeIdle() // of the old circuit
	old, oldCirc := c.client, c.circ
	c.circ = c.dialer.NewCircuit()
	c.client = newClient(c.circ.DialContext, c.tls)
	c.mu.Unlock()
	old.CloseIdleConnections()
	oldCirc.Close()
}

// Warm dials the host of rawURL on this circuit now, so that its first
// request does not wait for the circuit to be built.
func (c *Conn) Warm(ctx context.Context, rawURL string) error {
	u, err := url.Parse(rawURL)
	if err != nil {
		return err
	}
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	c.mu.Lock()
	circ := c.circ
	c.mu.Unlock()
	return circ.Warm(ctx, net.JoinHostPort(u.Hostname(), port))
}

func (c *Conn) current() *http.Client {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.client
}

// Close drops the connections kept alive.
func (c *Conn) Close() error {
	c.current().CloseIdleConnections()
	c.mu.Lock()
	c.closeIdle()
	c.circ.Close()
	c.mu.Unlock()
	return nil
}

// Get implements fetch.Conn.
func (c *Conn) Get(ctx context.Context, r fetch.Request) (*fetch.Stream, error) {
	s, _, err := c.get(ctx, r)
	return s, err
}

// get is Get, with the answer's header.
func (c *Conn) get(ctx context.Context, r fetch.Request) (*fetch.Stream, http.Header, error) {
	req, ranged, err := c.request(ctx, r)
	if err != nil {
		return nil, nil, err
	}
	resp, err := c.current().Do(req)
	if err != nil {
		return nil, nil, requestError(ctx, req, err)
	}
	s, err := c.answer(r, ranged, resp)
	if err != nil {
		return nil, nil, err
	}
	return s, resp.Header, nil
}

// answer checks an answer to r and makes its Stream; on error the body
// is closed.
func (c *Conn) answer(r fetch.Request, ranged bool, resp *http.Response) (*fetch.Stream, error) {
	s, err := c.check(r, ranged, resp)
	if err != nil {
		resp.Body.Close()
		return nil, err
	}
	s.URL, s.Type = resp.Request.URL.String(), resp.Header.Get("Content-Type")
	s.Filename = Filename(resp.Header.Get("Content-Disposition"))
	return s, nil
}

// request is the HTTP request for r, with grab's and the user's headers
// and cookies; ranged tells whether it asks for a byte range.
func (c *Conn) request(ctx context.Context, r fetch.Request) (req *http.Request, ranged bool, err error) {
	req, err = http.NewRequestWithContext(ctx, http.MethodGet, r.URL, nil)
	if err != nil {
		return nil, false, &fetch.PermanentError{Err: err}
	}
	req.Header.Set("User-Agent", UserAgent)
	for k, vs := range c.header {
		switch k = http.CanonicalHeaderKey(k); k {
		case "Range", "If-Range", "Accept-Encoding":
		case "Host":
			req.Host = vs[0]
		default:
			req.Header[k] = vs
		}
	}
	if len(c.cookies) > 0 {
		now := time.Now
		if c.now != nil {
			now = c.now
		}
		addCookies(req, c.cookies, now())
	}
	switch {
	case r.Range.End > r.Range.Start:
		req.Header.Set("Range", r.Range.Header())
		ranged = true
	case r.Range.End < 0 && r.Range.Start > 0:
		req.Header.Set("Range", "bytes="+strconv.FormatInt(r.Range.Start, 10)+"-")
		ranged = true
	}
	if ranged && r.Validator != "" {
		req.Header.Set("If-Range", r.Validator)
	}
	return req, ranged, nil
}

// Filename is the file name a Content-Disposition header value gives
// (RFC 6266: filename*, with its charset, before filename): its last
// element, whatever folders the server puts before it; "" if there is
// none, or it is "." or "..". The name is the server's and must still go
// through the path mapper.
func Filename(disposition string) string {
	if disposition == "" {
		return ""
	}
	_, params, err := mime.ParseMediaType(disposition)
	if err != nil {
		return ""
	}
	name := params["filename"] // the decoded filename* when both are given
	name = name[strings.LastIndexAny(name, "/\\")+1:]
	if name == "." || name == ".." {
		return ""
	}
	return name
}

func (c *Conn) check(r fetch.Request, ranged bool, resp *http.Response) (*fetch.Stream, error) {
	val := Validator(resp.Header)
	digests := digest.FromHeaders(resp.Header.Values("Repr-Digest"), resp.Header.Values("Digest"))
	modified, _ := http.ParseTime(resp.Header.Get("Last-Modified"))
	changed := func(size int64, why string) error {
		return &fetch.ChangedError{Size: size, Validator: val, Why: why}
	}
	status := fmt.Sprintf("%s: %s", r.URL, resp.Status)
	if err := bounded(r.URL, resp); err != nil {
		return nil, err
	}
	switch code := resp.StatusCode; {
	case code == http.StatusPartialContent:
		if !ranged {
			return nil, &fetch.TransientError{Err: fmt.Errorf("%w: 206 to a request without Range", fetch.ErrBadRange)}
		}
		crs := resp.Header.Values("Content-Range")
		if len(crs) != 1 {
			return nil, &fetch.TransientError{Err: fmt.Errorf("%w: %s: %d Content-Range headers (multipart answers are not asked for)", fetch.ErrBadRange, r.URL, len(crs))}
		}
		cr, err := span.ParseContentRange(crs[0])
		if err != nil || cr.Range.Empty() || cr.Range.Start != r.Range.Start || (r.Range.End > 0 && cr.Range.End > r.Range.End) {
			return nil, &fetch.TransientError{Err: fmt.Errorf("%w: asked %s, got %q", fetch.ErrBadRange, r.Range.Header(), crs[0])}
		}
		if resp.ContentLength >= 0 && resp.ContentLength != cr.Range.Len() {
			return nil, &fetch.TransientError{Err: fmt.Errorf("%w: Content-Range %q but Content-Length %d", fetch.ErrBadRange, crs[0], resp.ContentLength)}
		}
		if r.Size >= 0 && cr.Size >= 0 && cr.Size != r.Size {
			return nil, changed(cr.Size, fmt.Sprintf("size was %d, is %d", r.Size, cr.Size))
		}
		if r.Validator != "" && val != "" && val != r.Validator {
			return nil, changed(cr.Size, fmt.Sprintf("validator was %s, is %s", r.Validator, val))
		}
		return &fetch.Stream{Body: resp.Body, Offset: cr.Range.Start, Len: cr.Range.Len(), Size: cr.Size, Validator: val, Digests: digests, Modified: modified}, nil

	case code == http.StatusOK:
		size := resp.ContentLength
		if r.Validator != "" && val != r.Validator {
			return nil, changed(size, fmt.Sprintf("validator was %s, is %q", r.Validator, val))
		}
		if r.Size >= 0 && size >= 0 && size != r.Size {
			return nil, changed(size, fmt.Sprintf("size was %d, is %d", r.Size, size))
		}
		return &fetch.Stream{Body: resp.Body, Len: size, Size: size, Validator: val, Whole: true, Digests: digests, Modified: modified}, nil

	case code == http.StatusRequestedRangeNotSatisfiable:
		cr, err := span.ParseContentRange(resp.Header.Get("Content-Range"))
		if err != nil || cr.Size < 0 {
			return nil, &fetch.TransientError{Err: fmt.Errorf("%s without a usable Content-Range", status)}
		}
		if r.Size >= 0 && cr.Size != r.Size {
			return nil, changed(cr.Size, fmt.Sprintf("size was %d, is %d", r.Size, cr.Size))
		}
		if r.Range.Start >= cr.Size {
			// Asked past the end (an empty file, or a guess at an unknown
			// size): nothing to read, but the size is now known.
			return &fetch.Stream{Body: http.NoBody, Offset: r.Range.Start, Len: 0, Size: cr.Size, Validator: val, Digests: digests}, nil
		}
		return nil, &fetch.TransientError{Err: fmt.Errorf("%w: %s for %s of a %d-byte file", fetch.ErrBadRange, status, r.Range.Header(), cr.Size)}

	case code == http.StatusTooManyRequests || code == http.StatusServiceUnavailable:
		return nil, &fetch.TransientError{Err: errors.New(status), RetryAfter: retryAfter(resp.Header.Get("Retry-After"), c.now)}
	case code >= 500:
		return nil, &fetch.TransientError{Err: errors.New(status)}
	case code == http.StatusRequestTimeout:
		return nil, &fetch.TransientError{Err: errors.New(status)}
	default: // 404, 410, 403, 401, 451, unfollowed redirects, other 4xx
		return nil, &fetch.PermanentError{Err: errors.New(status)}
	}
}

// Validator is the header that identifies a version of the file: a strong
// ETag, else Last-Modified. Weak ETags cannot be used with If-Range.
func Validator(h http.Header) string {
	if et := h.Get("ETag"); et != "" && !strings.HasPrefix(et, "W/") {
		return et
	}
	return h.Get("Last-Modified")
}

// retryAfter parses Retry-After as seconds or an HTTP date.
func retryAfter(v string, now func() time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n >= 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if now == nil {
			now = time.Now
		}
		if d := t.Sub(now()); d > 0 {
			return d
		}
	}
	return 0
}

// ReadAll is for small documents such as listings: it reads at most max
// bytes of a body.
func ReadAll(r io.Reader, max int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, max+1))
	if int64(len(b)) > max {
		return nil, fmt.Errorf("document larger than %d bytes", max)
	}
	return b, err
}

// List implements fetch.Lister: it fetches the page at rawURL whole (at
// most max bytes) and parses it as a directory listing.
func (c *Conn) List(ctx context.Context, rawURL string, max int64, moved func(int)) (*fetch.Listing, error) {
	s, h, err := c.get(ctx, fetch.Request{URL: rawURL, Range: span.Range{Start: 0, End: -1}, Size: -1})
	if err != nil {
		return nil, err
	}
	defer s.Body.Close()
	// grab asks for no encoding, yet some servers gzip their pages all
	// the same: read as bytes, a gzipped listing would have no entries.
	// Decoded, it is bounded like any other: a bomb hits max.
	var r io.Reader = s.Body
	switch enc := strings.ToLower(strings.TrimSpace(h.Get("Content-Encoding"))); enc {
	case "", "identity":
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(r)
		if err != nil {
			return nil, &fetch.TransientError{Err: fmt.Errorf("reading listing %s (gzip): %w", rawURL, err)}
		}
		r = zr
	default:
		return nil, &fetch.PermanentError{Err: fmt.Errorf("listing %s comes with Content-Encoding %q, which grab cannot read", rawURL, enc)}
	}
	// moved hears of the bytes decoded, what the listing holds in memory
	// (the engine bounds the listings read at once by it).
	body, err := io.ReadAll(io.LimitReader(countingReader{r, moved}, max+1))
	switch {
	case err != nil:
		return nil, fmt.Errorf("reading listing %s: %w", rawURL, err)
	case int64(len(body)) > max:
		return nil, &fetch.PermanentError{Err: fmt.Errorf("listing %s is larger than %d bytes", rawURL, max)}
	}
	base, err := url.Parse(s.URL)
	if err != nil {
		return nil, &fetch.PermanentError{Err: fmt.Errorf("listing URL %q: %w", s.URL, err)}
	}
	entries, _, err := listing.Parse(base, s.Type, body)
	if err != nil {
		return nil, &fetch.PermanentError{Err: err}
	}
	return &fetch.Listing{URL: s.URL, Entries: entries}, nil
}

// countingReader tells moved of every read.
type countingReader struct {
	r     io.Reader
	moved func(int)
}

func (c countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if n > 0 && c.moved != nil {
		c.moved(n)
	}
	return n, err
}

// requestError classifies a request that got no answer: refused for good,
// this side's fault (no proxy, a certificate not trusted: Local), or the
// circuit's or the host's.
func requestError(ctx context.Context, req *http.Request, err error) error {
	if errors.Is(err, ErrRedirect) || errors.Is(err, dial.ErrOnionNeedsProxy) || errors.Is(err, dial.ErrOnionLocalDNS) {
		return &fetch.PermanentError{Err: err}
	}
	if ctx.Err() != nil {
		return &fetch.TransientError{Err: err}
	}
	if tlsUntrusted(err) {
		return &fetch.TransientError{Err: fmt.Errorf("%s: %w: %v", req.URL.Host, ErrTLSVerify, tlsCause(err)), Conn: true, Local: true}
	}
	if rh := (tls.RecordHeaderError{}); errors.As(err, &rh) {
		return &fetch.TransientError{Err: fmt.Errorf("%s: %w: %v", req.URL.Host, ErrNotTLS, rh.Msg), Conn: true, Local: true}
	}
	if malformed(err) {
		// It answered: the host is up and the circuit carried it. The
		// file's tries count it.
		return &fetch.TransientError{Err: fmt.Errorf("%s: %w: %v", req.URL.Redacted(), ErrBadAnswer, unwrapAll(err))}
	}
	return &fetch.TransientError{Err: err, Conn: true, Local: dial.Local(err)}
}

// malformed reports an error of net/http reading an answer that is not
// HTTP. Only a header's is typed; the status line's are known by their
// words.
func malformed(err error) bool {
	var pe textproto.ProtocolError
	if errors.As(err, &pe) {
		return true
	}
	s := err.Error()
	return strings.Contains(s, "malformed HTTP") || strings.Contains(s, "server response headers exceeded")
}

// unwrapAll is the innermost error: net/http's own words, without the URL
// and the "transport connection broken" it wraps them in.
func unwrapAll(err error) error {
	for {
		u := errors.Unwrap(err)
		if u == nil {
			return err
		}
		err = u
	}
}

// tlsUntrusted reports a failed certificate verification.
func tlsUntrusted(err error) bool {
	var ve *tls.CertificateVerificationError
	var ua x509.UnknownAuthorityError
	var he x509.HostnameError
	var ci x509.CertificateInvalidError
	return errors.As(err, &ve) || errors.As(err, &ua) || errors.As(err, &he) || errors.As(err, &ci)
}

// tlsCause is the verifier's own words.
func tlsCause(err error) error {
	var ve *tls.CertificateVerificationError
	if errors.As(err, &ve) {
		return ve.Err
	}
	return err
}

// bounded refuses an answer whose numbers no file can have: a
// Content-Length or a Content-Range beyond fetch.MaxFileSize sizes nothing.
func bounded(rawURL string, resp *http.Response) error {
	n := resp.ContentLength
	for _, v := range resp.Header.Values("Content-Range") {
		if cr, err := span.ParseContentRange(v); err == nil {
			n = max(n, cr.Size, cr.Range.End)
		}
	}
	if n > fetch.MaxFileSize {
		return &fetch.PermanentError{Err: fmt.Errorf("%w: %s announces %d bytes, more than grab believes of any file (16 TiB)", fetch.ErrTooLarge, rawURL, n)}
	}
	return nil
}
