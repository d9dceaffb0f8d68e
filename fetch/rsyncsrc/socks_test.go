package rsyncsrc_test

import (
	"bytes"
	"testing"

	"github.com/grab-ir/grab/fetch/dial"
	"github.com/grab-ir/grab/fetch/fetchtest"
	"github.com/grab-ir/grab/fetch/rsync/rsynctest"
	"github.com/grab-ir/grab/fetch/rsyncsrc"
	"github.com/grab-ir/grab/fetch/span"
)

// TestThroughSOCKS fetches through a socks5h proxy: the host name goes to
// the proxy unresolved, and each worker uses its own identity.
func TestThroughSOCKS(t *testing.T) {
	d := rsynctest.Start(t)
	d.WriteFile(t, "f.bin", fetchtest.Data("9", 200_000))
	px := rsynctest.StartSOCKS(t, d.Addr)
	dl, err := dial.New("socks5h://" + px.Addr)
	if err != nil {
		t.Fatal(err)
	}
	src := &rsyncsrc.Source{Dialer: dl}
	const u = "rsync://dump.invalid/plain/f.bin"
	want := fetchtest.Data("9", 200_000)
	for w := range 2 {
		_, b, err := get(t, src.Conn(w), u, span.Range{Start: 1000, End: 150_000})
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(b, want[1000:150_000]) {
			t.Fatal("bytes through the proxy differ")
		}
	}
	// The first piece also asks for the whole-file checksum.
	hosts := px.Hosts()
	for _, h := range hosts {
		if h != "dump.invalid:873" {
			t.Fatalf("proxy saw hosts %q", hosts)
		}
	}
	if len(hosts) < 2 || px.Users() != 2 {
		t.Fatalf("proxy saw hosts %q, %d users", hosts, px.Users())
	}
}
