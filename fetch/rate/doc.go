// Package rate estimates transfer rates and times to completion from
// samples of a byte counter. Time is always passed in, so estimates are
// exact in tests.
//
// The rate is measured over a sliding window (30 s by default): long enough
// to smooth Tor's bursts, short enough to follow a link that slows down. An
// ETA is only given once the window holds a few seconds of data; before that
// it is unknown rather than wildly wrong.
package rate
