package demo

import "time"

// timelineRes is the resolution at which bytes are recorded for Timeline.
const timelineRes = 100 * time.Millisecond

// Stats is a snapshot of what the server has done since Start.
type Stats struct {
	Elapsed       time.Duration  // since Start
	BytesSent     int64          // bytes written to clients after pacing: response headers and bodies
	BodyBytes     int64          // of BytesSent, the bytes of files: bodies of 200 and 206 answers to GET, not listings
	Requests      int64          // HTTP requests, all methods and paths
	RangeRequests int64          // requests that carried a Range header
	Stalls        int64          // responses stalled by StallProb
	Cuts          int64          // responses cut by CutProb
	Streams       int            // streams opened (SOCKS CONNECTs that succeeded, direct connections)
	Circuits      []CircuitStats // in order of first use
}

// CircuitStats describes one circuit.
type CircuitStats struct {
	// ID is the circuit identity: "anonymous" for SOCKS without
	// authentication, the username, or "username:password" when the password
	// is not empty; "direct-N" for the N-th direct HTTP connection.
	ID      string
	Direct  bool    // a direct HTTP connection, not a SOCKS identity
	Speed   float64 // bytes/s of the current build; 0 if unpaced
	Builds  int     // times the circuit was built (idle circuits are rebuilt)
	Streams int     // streams opened on it
	Open    int     // streams open now
	Bytes   int64   // bytes sent through it
}

// Stats returns a snapshot of the server's counters.
func (s *Server) Stats() Stats {
	st := Stats{
		Elapsed:       time.Since(s.start),
		BytesSent:     s.sent.Load(),
		BodyBytes:     s.body.Load(),
		Requests:      s.requests.Load(),
		RangeRequests: s.ranges.Load(),
		Stalls:        s.stalls.Load(),
		Cuts:          s.cuts.Load(),
	}
	s.mu.Lock()
	st.Streams = s.nStreams
	s.mu.Unlock()
	for _, c := range s.sortedCircuits() {
		c.mu.Lock()
		st.Circuits = append(st.Circuits, CircuitStats{
			ID: c.id, Direct: c.direct, Speed: c.speed, Builds: c.builds,
			Streams: c.streams, Open: c.open, Bytes: c.bytes,
		})
		c.mu.Unlock()
	}
	return st
}

// Sample is the traffic of one time step.
type Sample struct {
	Start    time.Duration    // offset of the step from Start
	Total    int64            // bytes sent to clients during the step
	Circuits map[string]int64 // bytes per circuit ID; circuits that sent nothing are absent
}

// Timeline returns bytes sent per step since Start, one Sample per step up
// to now. The step is rounded up to a multiple of 100 ms.
func (s *Server) Timeline(step time.Duration) []Sample {
	step = max((step+timelineRes-1)/timelineRes, 1) * timelineRes
	per := int(step / timelineRes)
	n := int(time.Since(s.start)/step) + 1
	out := make([]Sample, n)
	for i := range out {
		out[i] = Sample{Start: time.Duration(i) * step, Circuits: map[string]int64{}}
	}
	for _, c := range s.sortedCircuits() {
		c.mu.Lock()
		for i, b := range c.bins {
			if b == 0 {
				continue
			}
			k := i / per
			if k >= len(out) { // recorded after n was computed
				out = append(out, make([]Sample, k+1-len(out))...)
				for j := range out {
					if out[j].Circuits == nil {
						out[j] = Sample{Start: time.Duration(j) * step, Circuits: map[string]int64{}}
					}
				}
			}
			out[k].Total += b
			out[k].Circuits[c.id] += b
		}
		c.mu.Unlock()
	}
	return out
}
