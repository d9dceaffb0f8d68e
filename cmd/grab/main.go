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
	"syscall"

	"github.com/grab-ir/grab/fetch/bench"
	"github.com/grab-ir/grab/fetch/job"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop() // the first signal saves and exits; a second one aborts at once
	}()
	stopProfile, err := bench.CPUProfile(os.Getenv("GRAB_CPUPROFILE"))
	if err != nil {
		fmt.Fprintf(os.Stderr, "grab: warn: GRAB_CPUPROFILE: %v\n", err)
	}
	stopHeap := bench.HeapProfile(os.Getenv("GRAB_HEAPPROFILE"), func(err error) {
		fmt.Fprintf(os.Stderr, "grab: warn: GRAB_HEAPPROFILE: %v\n", err)
	})
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stopHeap()
	stopProfile()
	os.Exit(code)
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
