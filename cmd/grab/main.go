// Command grab pulls large dumps from slow, flaky sources such as onion
// services, with many workers on separate Tor circuits, verified chunks and
// resumable state. Run `grab help` for usage.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/grab-ir/grab/fetch/job"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop() // the first signal saves and exits; a second one aborts at once
	}()
	stopProfile := cpuProfile(os.Getenv("GRAB_CPUPROFILE"), os.Stderr)
	stopHeap := heapProfile(os.Getenv("GRAB_HEAPPROFILE"), os.Stderr)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stopHeap()
	stopProfile()
	os.Exit(code)
}

// cpuProfile writes a CPU profile of the whole run to path (the
// GRAB_CPUPROFILE variable), for `go tool pprof`; "" profiles nothing.
func cpuProfile(path string, stderr io.Writer) (stop func()) {
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err == nil {
		err = pprof.StartCPUProfile(f)
	}
	if err != nil {
		fmt.Fprintf(stderr, "grab: warn: GRAB_CPUPROFILE: %v\n", err)
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}

// heapProfile keeps at path (the GRAB_HEAPPROFILE variable) a heap
// profile taken when the heap in use was at its largest so far, looked at
// twice a second, for `go tool pprof -sample_index inuse_space`; ""
// profiles nothing.
func heapProfile(path string, stderr io.Writer) (stop func()) {
	if path == "" {
		return func() {}
	}
	runtime.MemProfileRate = 64 << 10
	done, exited := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(exited)
		sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		var peak uint64
		tick := time.NewTicker(500 * time.Millisecond)
		defer tick.Stop()
		for {
			metrics.Read(sample)
			if v := sample[0].Value.Uint64(); v > peak+peak/20 {
				peak = v
				if err := writeHeapProfile(path); err != nil {
					fmt.Fprintf(stderr, "grab: warn: GRAB_HEAPPROFILE: %v\n", err)
					return
				}
			}
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	return func() {
		close(done)
		<-exited
	}
}

func writeHeapProfile(path string) error {
	f, err := os.Create(path + ".new")
	if err != nil {
		return err
	}
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(path+".new", path)
}

// run is grab without the process: it returns the exit code (docs/usage.md).
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	cmd := "get"
	if len(args) > 0 {
		switch args[0] {
		case "demo", "bench", "ls", "status", "manifest", "verify", "classes", "help", "version":
			cmd, args = args[0], args[1:]
		case "-h", "--help":
			cmd = "help"
		case "-V", "--version":
			cmd = "version"
		}
	}
	ui := &ui{stdin: stdin, stdout: stdout, stderr: stderr}
	switch cmd {
	case "help":
		fmt.Fprint(stdout, usageGet)
		return exitOK
	case "version":
		fmt.Fprintln(stdout, "grab", version)
		return exitOK
	case "ls":
		return ui.exit(runLs(ctx, ui, args))
	case "status":
		return ui.exit(runStatus(ctx, ui, args))
	case "manifest":
		return ui.exit(runManifest(ui, args))
	case "verify":
		return ui.exit(runVerify(ctx, ui, args))
	case "classes":
		return ui.exit(runClasses(ui, args))
	case "demo":
		return ui.exit(runDemo(ctx, ui, args))
	case "bench":
		return ui.exit(runBench(ctx, ui, args))
	}
	return ui.exit(runGet(ctx, ui, args))
}

const version = job.Version
