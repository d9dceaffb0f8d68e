package rsync_test

import (
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/grab-ir/grab/fetch/rsync/rsynctest"
)

type netConn = net.Conn

func removeFile(d *rsynctest.Daemon, name string) error {
	return os.Remove(filepath.Join(d.Root, filepath.FromSlash(name)))
}

func dialFake(t *testing.T, f *rsynctest.Fake) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", f.Addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}
