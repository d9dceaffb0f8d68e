// Package job runs one grab job: the one place a run is put together.
//
//	j, err := job.Open(ctx, job.Options{Settings: s, Given: given, URLs: urls})
//	    takes the job's lock and serves its status on DIR/.grab/status.sock
//	    (Options.Started hears of the job then), merges the saved settings
//	    with the ones given now, builds the crawl and the fetch order,
//	    chooses the Source from the URLs' schemes (fetch/source), loads the
//	    journal into the engine (re-hashing partial files), opens the
//	    manifest and, with --tor, starts grab's own tors when work is left
//	err = j.Run(ctx)     // the engine, the ETA estimator, tor's NEWNYM watch; then SHA256SUMS
//	j.Status()           // the engine's snapshot as data
//	j.Report()           // the status as grab status shows it (rates, ETAs, circuits, errors)
//	j.Close()            // stops serving, syncs the manifest, stops tor, releases the lock, closes the --log file
//
// Every file the engine places in the tree gets the server's modification
// time and a manifest line (manifest.go). Other processes use Inspect and
// Plan (the running job's socket, else the database; OverviewOf sums a
// plan up as grab ls shows it) and Verify, and read the manifest with
// ReadManifest. Modules lists an rsync daemon's modules.
//
// cmd/grab parses flags into Settings and renders Report; the demo and
// the benchmarks (fetch/bench) drive the same Open and Run. Settings
// errors are *UsageError (a bad command line); errors with a next step
// are *HintError.
package job
