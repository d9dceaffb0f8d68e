package httpsrc

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/grab-ir/grab/fetch/dial"
)

// NewClient returns an HTTP client whose connections all come from dial
// (one circuit's). It reads no proxy variables, asks for no compression
// (byte ranges must mean bytes of the file) and follows redirects only on
// the same host: a dump never sends grab elsewhere, and an onion source
// never to the clearnet.
func NewClient(dial func(ctx context.Context, network, addr string) (net.Conn, error)) *http.Client {
	return newClient(dial, nil)
}

// MaxHeaderBytes bounds the header of an answer.
const MaxHeaderBytes = 64 << 10

// newClient is NewClient with a TLS configuration (nil: the system's
// authorities).
func newClient(dial func(ctx context.Context, network, addr string) (net.Conn, error), tc *tls.Config) *http.Client {
	tr := &http.Transport{
		Proxy:                  nil,
		DialContext:            dial,
		TLSClientConfig:        tc.Clone(),
		MaxResponseHeaderBytes: MaxHeaderBytes,
		DisableCompression:     true,
		ForceAttemptHTTP2:      false,
		MaxIdleConnsPerHost:    8,
		IdleConnTimeout:        2 * time.Minute,
		TLSHandshakeTimeout:    time.Minute,
		ResponseHeaderTimeout:  2 * time.Minute,
	}
	return &http.Client{Transport: tr, CheckRedirect: checkRedirect}
}

func checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= 5 {
		return fmt.Errorf("%w: more than 5 redirects", ErrRedirect)
	}
	from := via[0].URL
	if !strings.EqualFold(req.URL.Host, from.Host) {
		if dial.IsOnion(from.Hostname()) {
			return fmt.Errorf("%w: %s is an onion service and redirects to %s", ErrRedirect, from.Host, req.URL.Host)
		}
		return fmt.Errorf("%w: %s redirects to another host, %s", ErrRedirect, from.Host, req.URL.Host)
	}
	if from.Scheme == "https" && req.URL.Scheme != "https" {
		return fmt.Errorf("%w: from https to %s", ErrRedirect, req.URL.Scheme)
	}
	return nil
}

// TLSConfig is the TLS configuration of -k/--insecure and --cacert, as
// curl's: insecure skips verification; a CA file (PEM, one or more
// certificates) replaces the system's authorities. Both unset: nil, the
// system's.
func TLSConfig(insecure bool, caPEM []byte) (*tls.Config, error) {
	if !insecure && caPEM == nil {
		return nil, nil
	}
	tc := &tls.Config{InsecureSkipVerify: insecure}
	if caPEM != nil {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(caPEM) {
			return nil, fmt.Errorf("no PEM certificate found")
		}
		tc.RootCAs = pool
	}
	return tc, nil
}
