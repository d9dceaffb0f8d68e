package tor

import (
	"fmt"
	"net"
	"strconv"

	"github.com/cretz/bine/control"
)

// StreamFailure is a stream (one SOCKS connection) that tor could not
// complete or had to move to another circuit, from a STREAM event.
type StreamFailure struct {
	Instance     int
	StreamID     string
	CircuitID    string // "0" when no circuit was attached
	Target       string // host:port as the SOCKS client asked
	Status       string // FAILED or DETACHED
	Reason       string // tor's REASON, such as TIMEOUT or END
	RemoteReason string // REMOTE_REASON, the far end's reason, for END
}

// String says what happened in plain words, with tor's codes at the end.
func (f StreamFailure) String() string {
	verb := "failed"
	if f.Status == "DETACHED" {
		verb = "was detached from its circuit (tor retries on another)"
	}
	codes := f.Reason
	if f.RemoteReason != "" {
		codes += "/" + f.RemoteReason
	}
	why := ReasonText(f.Reason, f.RemoteReason)
	if f.Status == "FAILED" && f.Reason == "END" && f.RemoteReason == "DONE" {
		// An END before the stream was open: a refusal, not a normal close.
		why = "the far end refused the stream (an onion service does this for a port it does not offer)"
	}
	return fmt.Sprintf("stream to %s %s: %s (tor %d: %s)", f.Target, verb, why, f.Instance, codes)
}

// streamReasons are the meanings of tor's stream reasons (control-spec
// StreamReason, tor-spec RELAY_END reasons).
var streamReasons = map[string]string{
	"MISC":           "unspecified error",
	"RESOLVEFAILED":  "the host name could not be resolved",
	"CONNECTREFUSED": "the destination refused the connection",
	"EXITPOLICY":     "the exit relay or onion service does not allow this address or port",
	"DESTROY":        "the circuit was torn down",
	"DONE":           "the connection was closed normally",
	"TIMEOUT":        "timed out waiting for an answer",
	"NOROUTE":        "no route to the destination",
	"HIBERNATING":    "a relay is hibernating (out of bandwidth)",
	"INTERNAL":       "internal error in a relay",
	"RESOURCELIMIT":  "a relay ran out of resources",
	"CONNRESET":      "the connection was reset",
	"TORPROTOCOL":    "Tor protocol violation",
	"NOTDIRECTORY":   "the relay is not a directory",
	"PRIVATE_ADDR":   "the destination is a private address",
	"END":            "the far end closed the stream",
}

// ReasonText turns tor's stream reason codes into words. For END the far
// end's reason, when known, is what matters.
func ReasonText(reason, remote string) string {
	if reason == "END" && remote != "" {
		reason = remote
	}
	if s, ok := streamReasons[reason]; ok {
		return s
	}
	if reason == "" {
		return "no reason given"
	}
	return "unknown reason " + reason
}

// streamFailure picks the STREAM events worth telling about: FAILED and
// DETACHED. A CLOSED event follows every stream, failed or not, and adds
// nothing.
func streamFailure(instance int, ev *control.StreamEvent) (StreamFailure, bool) {
	if ev.Status != "FAILED" && ev.Status != "DETACHED" {
		return StreamFailure{}, false
	}
	target := ev.TargetAddress
	if ev.TargetPort != 0 {
		target = net.JoinHostPort(target, strconv.Itoa(ev.TargetPort))
	}
	return StreamFailure{
		Instance: instance, StreamID: ev.StreamID, CircuitID: ev.CircuitID, Target: target,
		Status: ev.Status, Reason: ev.Reason, RemoteReason: ev.RemoteReason,
	}, true
}
