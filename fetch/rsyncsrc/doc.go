// Package rsyncsrc fetches files from rsync daemons (rsync://) for the
// engine, with the client of package fetch/rsync over connections from
// fetch/dial: through SOCKS the host name goes to the proxy unresolved, and
// each worker's Conn keeps its own circuit identity.
//
// URLs are rsync://[user@]host[:873]/module/path. A request for a byte
// range [X, Y) opens one session with --append claiming X bytes, reads
// Y-X bytes and closes the connection: the protocol has no way to say
// where to stop. A range from 0 needs no append. A module that refuses
// --append serves ranges as whole files (Stream.Whole) from then on.
//
// Validators are "rsync:SIZE:MTIME" from the file list (mtime in
// nanoseconds where the daemon sends them). List returns the regular files
// below a folder URL from one file list; Checksum asks the daemon for a
// file's whole-file checksum with --append-verify, which costs no data but
// makes the daemon read the whole file in silence first. GetBatch
// (fetch.Batcher) fetches many small whole files in shared sessions, their requests
// pipelined: one handshake and one file list per batch instead of per
// file.
package rsyncsrc
