// Package rsynctest starts rsync daemons for tests: a real one (Debian's
// rsync --daemon --no-detach on 127.0.0.1, on a free port, with a
// generated rsyncd.conf) and a fake one that runs a script per connection,
// for hostile cases.
//
// Modules of the real daemon, all serving the same folder (Daemon.Root):
//
//	plain     anyone may read
//	secret    user User with password Password
//	noappend  "refuse options = append"
//	busy      "max connections = 2"
//
// Start skips the test when rsync is not installed, and fails it instead
// when the environment has CI=true.
package rsynctest
