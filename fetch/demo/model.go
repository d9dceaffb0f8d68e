package demo

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// Model describes the simulated Tor network between clients and the onion
// service. The zero value of each optional field is documented beside it.
type Model struct {
	// Median is the median circuit speed in bytes/s. A circuit's speed is
	// Median*exp(Sigma*N(0,1)), drawn from the seeded generator per circuit
	// identity and build, clamped to [Median/50, Median*20]. Zero means
	// circuits are not paced at all.
	Median float64
	// Sigma is the log-normal sigma of circuit speeds.
	Sigma float64
	// LinkCap caps all traffic to clients, in bytes/s; zero means no cap.
	LinkCap float64
	// RTT is a round trip through a circuit: paid before each CONNECT reply
	// and by every client-to-server byte (the whole round trip is charged to
	// the upstream direction, so a request costs RTT + size/speed).
	RTT time.Duration
	// Build is paid once per circuit build, on its first CONNECT.
	Build time.Duration
	// CircuitIdle is how long a circuit with no open stream lives; the next
	// CONNECT after that rebuilds it (paying Build, with a new speed). Zero
	// means 10 minutes.
	CircuitIdle time.Duration
	// StallProb is the probability that a file response stops delivering
	// bytes at a random point of its body and stays open until the client
	// closes the stream.
	StallProb float64
	// CutProb is the probability that a file response's stream is closed
	// abruptly at a random point of its body. It is drawn before StallProb
	// and wins if both are drawn.
	CutProb float64
	// UnknownOnion is the SOCKS reply code for a CONNECT to a well-formed
	// onion address other than the server's; zero means 0xF0 (Tor's "onion
	// service descriptor can not be found").
	UnknownOnion byte
	// Digest adds a Repr-Digest header (RFC 9530, sha-256 of the whole
	// file) to file responses.
	Digest bool
	// Seed drives circuit speeds and stall/cut decisions.
	Seed int64
}

// DefaultModel is the model of `grab demo`: 200 kB/s median circuits, a 3 MB/s
// link, 600 ms round trips and 1.5 s circuit builds, no stalls or cuts.
func DefaultModel() Model {
	return Model{
		Median:      200e3,
		Sigma:       0.8,
		LinkCap:     3e6,
		RTT:         600 * time.Millisecond,
		Build:       1500 * time.Millisecond,
		CircuitIdle: 10 * time.Minute,
	}
}

// Faulty is m with the faults of `grab demo --stalls` and the slowlink
// benchmark: 5% of file responses stall and 5% are cut, as Tor's streams
// do.
func (m Model) Faulty() Model {
	m.StallProb, m.CutProb = 0.05, 0.05
	return m
}

// Validate reports the first field out of range, wrapping ErrBadModel.
func (m Model) Validate() error {
	bad := func(field string, v any) error {
		return fmt.Errorf("model %s = %v: %w", field, v, ErrBadModel)
	}
	finite := func(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }
	switch {
	case !finite(m.Median) || m.Median < 0:
		return bad("Median", m.Median)
	case !finite(m.Sigma) || m.Sigma < 0:
		return bad("Sigma", m.Sigma)
	case !finite(m.LinkCap) || m.LinkCap < 0:
		return bad("LinkCap", m.LinkCap)
	case m.RTT < 0:
		return bad("RTT", m.RTT)
	case m.Build < 0:
		return bad("Build", m.Build)
	case m.CircuitIdle < 0:
		return bad("CircuitIdle", m.CircuitIdle)
	case !(m.StallProb >= 0 && m.StallProb <= 1):
		return bad("StallProb", m.StallProb)
	case !(m.CutProb >= 0 && m.CutProb <= 1):
		return bad("CutProb", m.CutProb)
	}
	return nil
}

func (m Model) idle() time.Duration {
	if m.CircuitIdle == 0 {
		return 10 * time.Minute
	}
	return m.CircuitIdle
}

// CircuitSpeed returns the speed in bytes/s of the circuit with this
// identity (as reported in CircuitStats.ID) at its build-th build (1 for the
// first), or 0 if the model does not pace circuits.
func (m Model) CircuitSpeed(id string, build int) float64 {
	if m.Median == 0 {
		return 0
	}
	rng := m.rng("speed", id, uint64(build))
	s := m.Median * math.Exp(m.Sigma*rng.NormFloat64())
	return min(max(s, m.Median/50), m.Median*20)
}

// rng returns a generator keyed by the model seed, a purpose, an identity
// and a number, so that every decision is a function of the seed.
func (m Model) rng(purpose, id string, n uint64) *rand.Rand {
	h := sha256.New()
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(m.Seed))
	h.Write(b[:])
	h.Write([]byte(purpose))
	h.Write([]byte{0})
	h.Write([]byte(id))
	h.Write([]byte{0})
	binary.LittleEndian.PutUint64(b[:], n)
	h.Write(b[:])
	sum := h.Sum(nil)
	return rand.New(rand.NewPCG(binary.LittleEndian.Uint64(sum[:8]), binary.LittleEndian.Uint64(sum[8:16])))
}
