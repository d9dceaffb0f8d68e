// Package dial is the one way out of grab to the network. It knows the
// proxy and the circuit identity of each connection; nothing else in grab
// opens a connection or reads proxy variables. Sources build their clients
// on a Circuit's DialContext (HTTP's, with its redirect rules, lives in
// httpsrc).
//
// With a socks5h:// proxy, host names go to the proxy unresolved, so no DNS
// lookup leaves the machine outside it. socks5:// resolves names locally and
// is refused for .onion hosts, which only Tor can resolve. Each Identity is
// a random SOCKS username and password: Tor's IsolateSOCKSAuth (on by
// default) gives every distinct pair its own circuit.
package dial
