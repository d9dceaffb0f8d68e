// Package tortest starts a private Tor network on loopback for tests, the way
// net/http/httptest starts an HTTP server.
//
// A network is 3 directory authorities, a few relays (some of them exits that
// allow only 127.0.0.0/8), one v3 onion service whose port 80 forwards to
// Options.Target, and one client tor with a SOCKS port and a control port.
// Every tor is a foreground child process of the test binary, binds only to
// 127.0.0.1, reads no /etc/tor configuration, and knows no public authority or
// fallback directory: nothing leaves the machine.
//
// # Basics
//
// One network for one test:
//
//	func TestFetch(t *testing.T) {
//		srv := httptest.NewServer(handler)
//		defer srv.Close()
//		n := tortest.Require(t, tortest.Options{Target: srv.Listener.Addr().String()})
//		// dial n.OnionHost()+":80" through the SOCKS5 proxy at n.SOCKSAddr()
//	}
//
// Require skips the test when tor or tor-gencert is not installed, and fails it
// instead when the environment has CI=true. Start is the same without testing.TB.
//
// One network shared by every test of a package (starting one costs 20-60 s):
//
//	var tornet *tortest.Shared
//
//	func TestMain(m *testing.M) {
//		srv := httptest.NewServer(handler)
//		tornet = tortest.NewShared(tortest.Options{Target: srv.Listener.Addr().String()})
//		code := m.Run()
//		tornet.Close() // stops the tors (if a test started them) and removes their directory
//		srv.Close()
//		os.Exit(code)
//	}
//
//	func TestA(t *testing.T) { n := tornet.Get(t); ... }
//
// The network starts on the first Get, so `go test -run Unrelated` starts none.
//
// # Caveats
//
//   - Start takes about 25-40 s on an idle 2-core machine (up to about 65 s
//     when the CPUs are busy): key generation takes a few seconds, the
//     authorities vote every 10 s and need a round or two before the first
//     consensus, and the onion service then publishes its descriptor. The
//     first consensus lists only the authorities; Start waits for the next,
//     which lists the relays too, and returns only when a SOCKS connection
//     to the onion's port 80 has succeeded, so the network is usable at
//     once (a few onion circuits may still fail for some seconds after, while
//     every tor fetches the relays' descriptors).
//   - Each consensus is valid for only 40 s. A network whose authorities were
//     stopped dies soon after.
//   - Every node logs to <Dir>/<node>/notice.log as well as to Options.Log;
//     pass an explicit Options.Dir to keep those logs after Close.
//   - Ports are chosen by the kernel (listen on 127.0.0.1:0, then close). Another
//     process may grab one before tor binds it; Start then fails with the tor's
//     own message rather than hanging.
//   - Each tor runs in its own process group with a parent-death signal (Linux),
//     so it dies with the test binary even if the test panics or is killed.
//     Close still should be called: it is what waits for the processes and
//     removes a directory Start created.
//   - The client isolates circuits by SOCKS username/password (tor's default
//     IsolateSOCKSAuth), so two usernames give two circuits.
package tortest
