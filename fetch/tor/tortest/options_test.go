package tortest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"testing"
)

func TestValidate(t *testing.T) {
	tests := []struct {
		o      Options
		relays int
		exits  int
		err    string
	}{
		{o: Options{Target: "127.0.0.1:8080"}, relays: 5, exits: 2},
		{o: Options{Target: "127.1.2.3:1", Relays: 1, Exits: 1}, relays: 1, exits: 1},
		{o: Options{}, err: `invalid options: Target "": missing port in address`},
		{o: Options{Target: "localhost:80"}, err: `invalid options: Target "localhost:80" is not a 127.x.x.x:port address`},
		{o: Options{Target: "10.0.0.1:80"}, err: `invalid options: Target "10.0.0.1:80" is not a 127.x.x.x:port address`},
		{o: Options{Target: "[::1]:80"}, err: `invalid options: Target "[::1]:80" is not a 127.x.x.x:port address`},
		{o: Options{Target: "127.0.0.1:0"}, err: `invalid options: Target "127.0.0.1:0" is not a 127.x.x.x:port address`},
		{o: Options{Target: "127.0.0.1:http"}, err: `invalid options: Target "127.0.0.1:http" is not a 127.x.x.x:port address`},
		{o: Options{Target: "127.0.0.1:80", Relays: -1}, err: "invalid options: Relays -1 is not within 1..50"},
		{o: Options{Target: "127.0.0.1:80", Relays: 51}, err: "invalid options: Relays 51 is not within 1..50"},
		{o: Options{Target: "127.0.0.1:80", Relays: 1}, err: "invalid options: Exits 2 is not within 1..Relays (1)"},
		{o: Options{Target: "127.0.0.1:80", Exits: -2}, err: "invalid options: Exits -2 is not within 1..Relays (5)"},
	}
	for _, tt := range tests {
		got, err := tt.o.validate()
		if tt.err != "" {
			if err == nil || err.Error() != tt.err || !errors.Is(err, ErrOptions) {
				t.Errorf("%+v: got error %v, want %q", tt.o, err, tt.err)
			}
			continue
		}
		if err != nil || got.Relays != tt.relays || got.Exits != tt.exits {
			t.Errorf("%+v: got %d relays, %d exits, %v; want %d, %d", tt.o, got.Relays, got.Exits, err, tt.relays, tt.exits)
		}
	}
}

func TestStartWithoutTor(t *testing.T) {
	dir := t.TempDir()
	_, err := Start(context.Background(), Options{Dir: dir, Target: "127.0.0.1:80", Tor: "/nonexistent/tor"})
	const want = `tor binary not found: exec: "/nonexistent/tor": stat /nonexistent/tor: no such file or directory`
	if !errors.Is(err, ErrTorMissing) || err.Error() != want {
		t.Fatalf("got %v, want %s", err, want)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("Start wrote %d files before failing", len(entries))
	}
}

func TestStartDirNotEmpty(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(dir+"/old", nil, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Start(context.Background(), Options{Dir: dir, Target: "127.0.0.1:80", Tor: "/nonexistent/tor"})
	if want := "invalid options: Dir " + dir + " is not empty"; !errors.Is(err, ErrOptions) || err.Error() != want {
		t.Fatalf("got %v, want %s", err, want)
	}
}

// recordTB is a testing.TB whose Skip and Fatal record the message and end
// the goroutine, as the real ones do.
type recordTB struct {
	testing.TB
	skipped, failed string
}

func (r *recordTB) Helper()                   {}
func (r *recordTB) Skip(args ...any)          { r.skipped = args[0].(string); runtime.Goexit() }
func (r *recordTB) Fatal(args ...any)         { r.failed = args[0].(string); runtime.Goexit() }
func (r *recordTB) Fatalf(f string, a ...any) { r.failed = fmt.Sprintf(f, a...); runtime.Goexit() }

// run calls f with r in its own goroutine and waits for it.
func (r *recordTB) run(f func(testing.TB)) {
	done := make(chan struct{})
	go func() { defer close(done); f(r) }()
	<-done
}

func TestRequireWithoutTor(t *testing.T) {
	o := Options{Target: "127.0.0.1:80", Tor: "/nonexistent/tor"}
	const missing = `tortest: tor binary not found: exec: "/nonexistent/tor": stat /nonexistent/tor: no such file or directory`
	for _, ci := range []string{"", "true"} {
		t.Setenv("CI", ci)
		for name, f := range map[string]func(testing.TB){
			"Require": func(tb testing.TB) { Require(tb, o) },
			"Shared":  func(tb testing.TB) { NewShared(o).Get(tb) },
		} {
			r := &recordTB{TB: t}
			r.run(f)
			if ci == "" && (r.skipped != missing+" (skipping; with CI=true this fails)" || r.failed != "") {
				t.Errorf("%s without CI: skipped %q, failed %q", name, r.skipped, r.failed)
			}
			if ci == "true" && (r.failed != missing+" (CI=true, so this is a failure, not a skip)" || r.skipped != "") {
				t.Errorf("%s with CI=true: skipped %q, failed %q", name, r.skipped, r.failed)
			}
		}
	}
}

func TestSharedClosed(t *testing.T) {
	tor, _, err := Options{}.binaries()
	if err != nil {
		t.Skip(err)
	}
	s := NewShared(Options{Target: "127.0.0.1:80", Tor: tor})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	r := &recordTB{TB: t}
	r.run(func(tb testing.TB) { s.Get(tb) })
	if r.failed != "tortest: shared network: network closed" {
		t.Errorf("Get after Close: failed %q", r.failed)
	}
}
