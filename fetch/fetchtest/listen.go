package fetchtest

import (
	"io"
	"net"
	"sync"
	"testing"
)

// Listen accepts connections on loopback and runs serve for each in a
// goroutine of its own, closing the connection when serve returns: a
// server that says what no real one would, a proxy stub, a counter. It
// returns the address. When the test ends the listener and every open
// connection are closed, and Listen waits for serve to return.
func Listen(t testing.TB, serve func(c net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu    sync.Mutex
		open  = map[net.Conn]bool{}
		wg    sync.WaitGroup
		ended bool
	)
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		ended = true
		for c := range open {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			if ended {
				mu.Unlock()
				c.Close()
				return
			}
			open[c] = true
			wg.Add(1)
			mu.Unlock()
			go func() {
				defer wg.Done()
				defer func() {
					mu.Lock()
					delete(open, c)
					mu.Unlock()
					c.Close()
				}()
				serve(c)
			}()
		}
	}()
	return ln.Addr().String()
}

// Relay forwards every connection to target, so that a test can count
// what goes through: opened, if set, hears of each connection, and down,
// if set, of each run of bytes sent back to the client. It returns the
// address to connect to instead of target.
func Relay(t testing.TB, target string, opened func(), down func(n int)) string {
	t.Helper()
	return Listen(t, func(c net.Conn) {
		if opened != nil {
			opened()
		}
		s, err := net.Dial("tcp", target)
		if err != nil {
			return
		}
		defer s.Close()
		go func() { io.Copy(s, c); s.(*net.TCPConn).CloseWrite() }()
		buf := make([]byte, 32<<10)
		for {
			n, err := s.Read(buf)
			if n > 0 {
				if _, err := c.Write(buf[:n]); err != nil {
					return
				}
				if down != nil {
					down(n)
				}
			}
			if err != nil {
				return
			}
		}
	})
}
