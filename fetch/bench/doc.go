// Package bench measures grab against the physical limit of the built-in
// onion-like source (fetch/demo) and against aria2c and curl run side by
// side in the same run: `grab bench` calls Run. Every scenario drives the
// real job (fetch/job) in this process, or the grab binary itself for the
// kill test, and fails when a download is not byte-identical. Results are
// ratios, never bare times; docs/bench.md keeps them with their commands.
// CPUProfile and HeapProfile are the profiles any grab command writes
// with GRAB_CPUPROFILE and GRAB_HEAPPROFILE (docs/usage.md).
package bench
