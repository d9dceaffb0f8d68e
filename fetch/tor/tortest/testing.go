package tortest

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
)

// skipOrFail ends the test when tor is missing: a skip, or a failure when the
// environment has CI=true (where a silently skipped integration test would
// hide a broken setup).
func skipOrFail(t testing.TB, err error) {
	t.Helper()
	msg := fmt.Sprintf("tortest: %v", err)
	if os.Getenv("CI") == "true" {
		t.Fatal(msg + " (CI=true, so this is a failure, not a skip)")
	}
	t.Skip(msg + " (skipping; with CI=true this fails)")
}

// Require starts a network for the test t and stops it when t and its
// subtests finish. It skips t when tor or tor-gencert is missing, unless the
// environment has CI=true, in which case t fails. A failed start fails t.
func Require(t testing.TB, o Options) *Network {
	t.Helper()
	if _, _, err := o.binaries(); err != nil {
		skipOrFail(t, err)
	}
	n, err := Start(context.Background(), o)
	if err != nil {
		t.Fatalf("tortest: starting network: %v", err)
	}
	t.Cleanup(func() {
		if err := n.Close(); err != nil {
			t.Errorf("tortest: closing network: %v", err)
		}
	})
	return n
}

// Shared is one network for all the tests of a test binary. It starts on the
// first Get and stops on Close, which TestMain calls after m.Run (see the
// package documentation). A start that failed fails every later Get the same
// way, without retrying.
type Shared struct {
	o       Options
	mu      sync.Mutex
	started bool
	closed  bool
	n       *Network
	err     error
}

// NewShared returns a Shared that will start a network with o.
func NewShared(o Options) *Shared { return &Shared{o: o} }

// Get returns the shared network, starting it on the first call. Like
// Require, it skips t when tor is missing (fails it when CI=true) and fails t
// when the network could not start.
func (s *Shared) Get(t testing.TB) *Network {
	t.Helper()
	if _, _, err := s.o.binaries(); err != nil {
		skipOrFail(t, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		t.Fatalf("tortest: shared network: %v", ErrClosed)
	}
	if !s.started {
		s.started = true
		s.n, s.err = Start(context.Background(), s.o)
	}
	if s.err != nil {
		t.Fatalf("tortest: starting shared network: %v", s.err)
	}
	return s.n
}

// Close stops the network if Get started one. Later Gets fail.
func (s *Shared) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	if s.n == nil {
		return nil
	}
	return s.n.Close()
}
