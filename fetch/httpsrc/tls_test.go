package httpsrc_test

import (
	"encoding/pem"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/grab-ir/grab/fetch"
	"github.com/grab-ir/grab/fetch/dial"
	"github.com/grab-ir/grab/fetch/fetchtest"
	"github.com/grab-ir/grab/fetch/httpsrc"
	"github.com/grab-ir/grab/fetch/span"
)

func get(t *testing.T, src *httpsrc.Source, url string) error {
	t.Helper()
	c := src.Conn(0)
	defer c.Close()
	s, err := c.Get(t.Context(), fetch.Request{URL: url, Range: span.Range{Start: 0, End: -1}, Size: -1})
	if err == nil {
		s.Body.Close()
	}
	return err
}

// A certificate that does not verify is this side's problem (Local), of
// its own cause; --cacert with the server's certificate, or -k, fetch.
func TestTLSUntrusted(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("hi")) }))
	defer srv.Close()
	d, _ := dial.New("")
	err := get(t, &httpsrc.Source{Dialer: d}, srv.URL+"/x")
	var tr *fetch.TransientError
	host := strings.TrimPrefix(srv.URL, "https://")
	if !errors.As(err, &tr) || !tr.Local || !tr.Conn || !errors.Is(err, httpsrc.ErrTLSVerify) ||
		err.Error() != host+": TLS certificate not trusted: x509: certificate signed by unknown authority" {
		t.Fatalf("untrusted: %#v %v", err, err)
	}
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	for name, insecure := range map[string]bool{"--cacert": false, "-k": true} {
		pemArg := ca
		if insecure {
			pemArg = nil
		}
		tc, err := httpsrc.TLSConfig(insecure, pemArg)
		if err != nil {
			t.Fatal(err)
		}
		if err := get(t, &httpsrc.Source{Dialer: d, TLS: tc}, srv.URL+"/x"); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	// Something else on the port (an SSH server, say).
	host = fetchtest.Listen(t, func(c net.Conn) { c.Write([]byte("SSH-2.0-OpenSSH_9.2\r\n")) })
	err = get(t, &httpsrc.Source{Dialer: d}, "https://"+host+"/x")
	if !errors.As(err, &tr) || !tr.Local || !errors.Is(err, httpsrc.ErrNotTLS) ||
		err.Error() != host+": no TLS server there: first record does not look like a TLS handshake" {
		t.Fatalf("https:// to a plain server: %v", err)
	}
	if _, err := httpsrc.TLSConfig(false, []byte("not pem")); err == nil {
		t.Error("a CA file without a certificate was accepted")
	}
}

// A proxy that is not there is Local too; a host the proxy cannot reach
// is not.
func TestProxyCausesReachTheEngine(t *testing.T) {
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := l.Addr().String()
	l.Close()
	d, _ := dial.New("socks5h://" + dead)
	err := get(t, &httpsrc.Source{Dialer: d}, "http://h.onion/x")
	var tr *fetch.TransientError
	if !errors.As(err, &tr) || !tr.Local || !tr.Conn || !errors.Is(err, dial.ErrNoProxy) {
		t.Fatalf("no proxy: %#v", err)
	}
}
