package tortest

import (
	"fmt"
	"path/filepath"
	"strings"
)

// Voting schedule of the authorities, in seconds. A consensus is valid for
// validIntervals intervals (40 s), so one missed vote on a busy machine does
// not leave the clients without a live consensus.
const (
	votingInterval = 10
	voteDelay      = 2
	validIntervals = 4
)

// kind is the role of one tor process in the network.
type kind int

const (
	authority kind = iota
	relay
	exit
	service
	client
)

// node is one tor process: its role, nickname and the ports it binds.
type node struct {
	kind      kind
	name      string
	orPort    int // authorities and relays
	dirPort   int // authorities
	socksPort int // client
	ctlPort   int // client
}

// authority identifies a directory authority in DirAuthority lines.
type dirAuth struct {
	name    string
	orPort  int
	dirPort int
	v3ident string // 40 hex digits, from keys/authority_certificate
	fp      string // 40 hex digits, the relay identity fingerprint
}

// line is the DirAuthority torrc line for a.
func (a dirAuth) line() string {
	return fmt.Sprintf("DirAuthority %s orport=%d no-v2 v3ident=%s 127.0.0.1:%d %s",
		a.name, a.orPort, a.v3ident, a.dirPort, a.fp)
}

// clientTorrc is what any tor needs to join the network: the test-network
// switch, the authorities, and options that help a tiny network.
func clientTorrc(auths []dirAuth) string {
	var b strings.Builder
	b.WriteString("TestingTorNetwork 1\n")
	for _, a := range auths {
		b.WriteString(a.line())
		b.WriteByte('\n')
	}
	b.WriteString("PathsNeededToBuildCircuits 0.67\n")
	b.WriteString("ClientUseIPv6 0\n")
	return b.String()
}

// torrc is the configuration of node nd whose DataDirectory is dir. target is
// where the onion service's port 80 goes.
func torrc(nd node, dir string, auths []dirAuth, target string) string {
	var b strings.Builder
	w := func(format string, a ...any) { fmt.Fprintf(&b, format+"\n", a...) }
	b.WriteString(clientTorrc(auths))
	w("DataDirectory %s", dir)
	w("Nickname %s", nd.name)
	w("Log notice stdout")
	w("Log notice file %s", filepath.Join(dir, "notice.log"))
	w("SafeLogging 0")
	w("LogTimeGranularity 1")
	w("ShutdownWaitLength 0")
	switch nd.kind {
	case authority, relay, exit:
		w("SocksPort 0")
		w("ORPort 127.0.0.1:%d", nd.orPort)
		w("Address 127.0.0.1")
		w("ContactInfo %s@tortest.invalid", nd.name)
		// Publish without the slow self-reachability test.
		w("AssumeReachable 1")
		// With no readable resolv.conf tor's only nameserver is 127.0.0.1.
		w("ServerDNSDetectHijacking 0")
		w("ServerDNSResolvConfFile /dev/null")
	}
	switch nd.kind {
	case authority:
		w("ExitRelay 0")
		w("DirPort 127.0.0.1:%d", nd.dirPort)
		w("AuthoritativeDirectory 1")
		w("V3AuthoritativeDirectory 1")
		w("TestingDirAuthVoteExit *")
		w("TestingDirAuthVoteGuard *")
		w("TestingDirAuthVoteHSDir *")
		w("TestingMinExitFlagThreshold 0")
		w("V3AuthNIntervalsValid %d", validIntervals)
		// Vote fast: intervals divide 24 h, vote plus distribution delay
		// below half an interval (tor uses half while it has no consensus).
		w("TestingV3AuthInitialVotingInterval %d", votingInterval)
		w("TestingV3AuthInitialVoteDelay %d", voteDelay)
		w("TestingV3AuthInitialDistDelay %d", voteDelay)
		w("V3AuthVotingInterval %d", votingInterval)
		w("V3AuthVoteDelay %d", voteDelay)
		w("V3AuthDistDelay %d", voteDelay)
	case relay:
		w("ExitRelay 0")
	case exit:
		w("ExitRelay 1")
		w("ExitPolicyRejectPrivate 0")
		w("ExitPolicy accept 127.0.0.0/8:*")
		w("ExitPolicy reject *:*")
	case service:
		w("SocksPort 0")
		w("HiddenServiceDir %s", filepath.Join(dir, "hidden_service"))
		w("HiddenServiceVersion 3")
		w("HiddenServicePort 80 %s", target)
	case client:
		w("SocksPort 127.0.0.1:%d", nd.socksPort)
		w("ControlPort 127.0.0.1:%d", nd.ctlPort)
		w("CookieAuthentication 1")
	}
	return b.String()
}
