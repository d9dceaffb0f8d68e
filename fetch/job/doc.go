// Package job runs one grab job: the one place a run is put together.
//
//	j, err := job.Open(ctx, job.Options{Settings: s, Given: given, URLs: urls})
//	    opens or creates DIR/.grab (store), merges the saved settings with
//	    the ones given now, builds the crawl and the fetch order, chooses the
//	    Source from the URLs' schemes (fetch/source), loads the journal into
//	    the engine and, with --tor, starts grab's own tors when work is left
//	err = j.Run(ctx)     // the engine; tor's NEWNYM watch; then DIR/.grab/SHA256SUMS
//	j.Status()           // a snapshot as data, for any renderer
//	j.Close()            // stops tor, releases the job's lock
//
// cmd/grab parses flags into Settings and renders Status; the demo and the
// benchmarks (fetch/bench) drive the same Open and Run. Settings errors are
// *UsageError (a bad command line); errors with a next step are
// *HintError.
package job
