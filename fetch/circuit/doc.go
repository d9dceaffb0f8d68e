// Package circuit scores the circuits a job runs over and decides which to
// replace. Tor circuits differ tenfold in speed; a worker stuck on a slow
// one should get a fresh identity (a new SOCKS username and password, hence
// a new circuit), while fast ones are kept as long as they stay fast.
//
// A circuit's rate is measured only while it had work, over a sliding
// window, so an idle circuit is never judged slow. A circuit is replaced
// when, after at least MinAge of busy time, its rate stays below Ratio times
// the median rate of its peers. Time is always passed in: decisions are
// exact in tests.
package circuit
