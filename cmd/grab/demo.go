package main

import (
	"context"

	"github.com/grab-ir/grab/fetch/demo"
	"github.com/grab-ir/grab/fetch/job"
	"github.com/grab-ir/grab/fetch/jobdir"
	"github.com/grab-ir/grab/fetch/rate"
)

const usageDemo = `usage: grab demo [flags]

Starts a built-in slow onion-like source (an in-process HTTP server with a
generated breach-like dump, behind an in-process SOCKS5 proxy where every
circuit has its own speed, build time and round trip) and downloads it with
the real engine and progress display. No Tor and no network are needed.
Interrupt it (Ctrl-C) and run it again to see a resume.

flags:
  -o, --output DIR   where files go (default grab-demo)
  -w, --workers N    parallel workers (default 16)
      --seed N       which dump and which circuit speeds (default 1)
      --stalls       let some streams stall and some be cut, as Tor's do

examples:
  grab demo
  grab demo -o /tmp/d --workers 32 --stalls
`

func runDemo(ctx context.Context, ui *ui, args []string) error {
	var o job.Settings
	fs := jobFlags(&o, "grab demo")
	var df displayFlags
	df.bind(fs)
	seed := fs.Int64("seed", 1, "")
	stalls := fs.Bool("stalls", false, "")
	if err := fs.parseNone(args, usageDemo, "grab demo [-o DIR] [--workers N]"); err != nil {
		return err
	}
	if o.Output == "" {
		o.Output = "grab-demo"
	}
	model := demo.DefaultModel()
	model.Seed = *seed
	if *stalls {
		model = model.Faulty()
	}
	srv, err := demo.Start(ctx, demo.BreachDump(*seed, demo.DefaultBreachSpec()), model)
	if err != nil {
		return err
	}
	defer srv.Close()
	ui.printf("demo: onion-like source %s: %d files, %s; circuits: median %s, sigma %.1f, link %s, RTT %v, build %v",
		srv.Host(), len(srv.Dump().Files()), rate.Bytes(srv.Dump().TotalSize()), rate.Speed(model.Median), model.Sigma,
		rate.Speed(model.LinkCap), model.RTT, model.Build)
	o.Proxy = "socks5h://" + srv.SOCKSAddr()
	given := fs.given()
	given["proxy"] = true // the demo's proxy moves with each run
	targets, err := job.ParseURLs([]string{srv.BaseURL()})
	if err != nil {
		return err
	}
	files, err := get(ctx, ui, job.Options{Settings: o, Given: given, URLs: targets}, df)
	if err != nil {
		return err
	}
	n, err := srv.Check(o.Output, files)
	if err != nil {
		return err
	}
	ui.printf("demo: all %d files in %s are byte-identical to the source; SHA-256 of each in %s",
		n, o.Output, jobdir.Dir(o.Output).Sums())
	return nil
}
