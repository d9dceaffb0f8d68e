// Package rate estimates transfer rates and times to completion from
// samples of a byte counter. Time is always passed in, so estimates are
// exact in tests.
//
// Meter measures a rate over a sliding window (30 s by default). Estimator
// is what ETAs come from: exponentially weighted byte and file rates (over
// a minute by default, so Tor's bursts and stalls average out while a link
// that slows down is followed within minutes), and an ETA per piece of
// work that is the longer of its bytes at the byte rate and its files at
// the file rate (a folder of small files is bound by round trips). ETAs
// chains pieces done one after the other, as classes are in priority
// order. Before a few seconds of samples an ETA is unknown rather than
// wildly wrong.
package rate
