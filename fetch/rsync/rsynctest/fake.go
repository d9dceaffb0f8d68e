package rsynctest

import (
	"net"
	"sync"
	"testing"
)

// Fake is a listener on 127.0.0.1 that runs Script for each connection:
// a daemon that says whatever a test wants.
type Fake struct {
	Addr string
	ln   net.Listener
	wg   sync.WaitGroup
}

// StartFake listens and serves until the test ends. script gets the
// connection and returns when done; the connection is closed after.
func StartFake(t testing.TB, script func(c net.Conn)) *Fake {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &Fake{Addr: ln.Addr().String(), ln: ln}
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			f.wg.Add(1)
			go func() {
				defer f.wg.Done()
				defer c.Close()
				script(c)
			}()
		}
	}()
	t.Cleanup(func() { ln.Close(); f.wg.Wait() })
	return f
}
