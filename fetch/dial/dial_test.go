package dial_test

import (
	"context"
	"errors"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/grab-ir/grab/fetch/demo"
	"github.com/grab-ir/grab/fetch/dial"
)

func TestProxyURLs(t *testing.T) {
	for in, want := range map[string]string{
		"http://127.0.0.1:8080":      `bad proxy URL "http://127.0.0.1:8080": the scheme must be socks5h:// (or socks5://)`,
		"socks5h://127.0.0.1":        `bad proxy URL "socks5h://127.0.0.1": want socks5h://HOST:PORT`,
		"socks5h://u:p@127.0.0.1:90": `bad proxy URL "socks5h://u:p@127.0.0.1:90": want socks5h://HOST:PORT`,
	} {
		if _, err := dial.New(in); err == nil || err.Error() != want {
			t.Errorf("New(%q) = %v, want %q", in, err, want)
		}
	}
	onion, _ := url.Parse("http://abc.onion/x")
	direct, _ := dial.New("")
	local, _ := dial.New("socks5://127.0.0.1:9050")
	remote, _ := dial.New("socks5h://127.0.0.1:9050")
	if !errors.Is(direct.Check(onion), dial.ErrOnionNeedsProxy) || !errors.Is(local.Check(onion), dial.ErrOnionLocalDNS) || remote.Check(onion) != nil {
		t.Error("onion checks")
	}
}

// SOCKS failures come back in plain words with their reply code: a proxy
// that is down, and Tor's extended error for an onion it cannot find.
func TestSOCKSErrors(t *testing.T) {
	srv, err := demo.Start(t.Context(), demo.SingleFile(1, "a", 10), demo.Model{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()

	elsewhere, err := demo.Start(t.Context(), demo.SingleFile(2, "a", 10), demo.Model{Seed: 2})
	if err != nil {
		t.Fatal(err)
	}
	elsewhere.Close() // only its (valid) onion name is used

	d, _ := dial.New("socks5h://" + srv.SOCKSAddr())
	var se *dial.SOCKSError
	_, err = d.Dial(ctx, dial.NewIdentity(), "tcp", elsewhere.Host()+":80")
	if !errors.As(err, &se) || se.Code != 0xF0 || se.Error() != "proxy: onion service descriptor not found (SOCKS reply 0xf0)" || !errors.Is(err, dial.ErrHostUnreachable) {
		t.Fatalf("unknown onion: %v", err)
	}
	_, err = d.Dial(ctx, dial.NewIdentity(), "tcp", strings.Repeat("a", 56)+".onion:80")
	if !errors.As(err, &se) || se.Code != 0xF6 || se.Error() != "proxy: onion address is invalid (SOCKS reply 0xf6)" {
		t.Fatalf("invalid onion: %v", err)
	}
	_, err = d.Dial(ctx, dial.NewIdentity(), "tcp", "example.com:80")
	if !errors.As(err, &se) || se.Code != 0x04 || se.Error() != "proxy: host unreachable (SOCKS reply 0x04)" {
		t.Fatalf("clearnet host through the demo: %v", err)
	}

	l, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := l.Addr().String()
	l.Close()
	d, _ = dial.New("socks5h://" + dead)
	_, err = d.Dial(ctx, dial.NewIdentity(), "tcp", srv.Host()+":80")
	if !errors.As(err, &se) || se.Code != -1 || !errors.Is(err, dial.ErrNoProxy) || !strings.HasPrefix(se.Error(), "proxy unreachable: "+dead+": dial tcp "+dead+": connect: connection refused") {
		t.Fatalf("dead proxy: %v", err)
	}
}
