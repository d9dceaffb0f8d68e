// Package rate estimates transfer rates and times to completion from
// samples of a byte counter. Time is always passed in, so estimates are
// exact in tests.
//
// Meter measures a rate over a sliding window (30 s by default).
// Estimator is what ETAs come from: a rate over a window that grows with
// the run (half the time since the first byte, up to a minute), so a
// fresh job's start is left out and a long job's bursts and stalls
// average out; the ETA of a piece of work is the longer of its bytes at
// that rate and its files' round trips spread over the lanes; ETAs chains
// pieces done one after the other, as classes are in priority order.
// Before a few seconds of data an ETA is unknown rather than wildly wrong.
package rate
