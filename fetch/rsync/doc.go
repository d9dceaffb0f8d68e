// Package rsync is a client of the rsync daemon protocol (rsync://), for
// pulling files from a module over a connection the caller dials: it never
// dials or resolves names itself, so grab can route it through SOCKS.
//
// It speaks protocols 27, 29, 30 and 31 (a daemon announcing 32 speaks 31
// on the wire) as the receiving side with "-tr": the file list below a path
// with names, sizes, mtimes and modes, then files requested by index.
//
// # Basics
//
//	conn, _ := dialer.Dial(ctx, id, "tcp", "host:873")
//	defer conn.Close()
//	s, err := rsync.Start(ctx, conn, "module", "dir/", rsync.Options{})
//	for _, f := range s.Files() { ... }       // sorted; f.Ndx names it
//	s.Request(rsync.Request{File: f})          // several may be in flight
//	r, err := s.Next()                         // replies come in order
//	io.Copy(dst, r)                            // io.EOF after the checksum matched
//	s.Finish()                                 // the end phases; then close conn
//
// Finish or Close must end every session: requests are written by a
// goroutine of the session (so that a long request never waits on a
// daemon busy sending an earlier reply), which they stop.
//
// Byte ranges: a session started with Options.Append = 1 (--append) sends
// each requested file from Request.Offset; the daemon cannot be told where
// to stop, so a reader that has enough closes the connection. With Append
// = 2 (--append-verify) and Offset = the file's size, the daemon sends no
// data, only the checksum of the whole file, after reading all of it in
// silence: allow for that in deadlines. Without append, Request.Basis
// sends block checksums of a local prefix and only the rest comes back.
//
// # Caveats
//
// Everything the daemon sends is bounded before it sizes anything (see
// MaxMessage, MaxLiteral, DefaultMaxFiles, DefaultMaxNameBytes). Names are
// reported as sent, "..", absolute paths and control characters included:
// mapping them to local paths is the caller's job. A file may be requested
// once per session (the daemon handles a second request differently).
// Before protocol 30 the daemon is silent about a file it cannot send;
// CloseRequests makes Next report it. Checksums before protocol 30 are MD4
// seeded with the session's seed (MD4Seeded): they differ between
// sessions. With --append from protocol 30 the daemon's checksum covers
// only the data sent, so it checks the range to the end of the file.
package rsync
