// Package demo is an embedded, slow, onion-like source for `grab demo`,
// tests and benchmarks: an HTTP server holding a generated breach-like dump,
// reached through an in-process SOCKS5 proxy that models Tor circuits. It
// needs no Tor and no network; everything listens on 127.0.0.1.
//
// # Basics
//
//	dump := demo.BreachDump(1, demo.DefaultBreachSpec())
//	srv, err := demo.Start(ctx, dump, demo.DefaultModel())
//	defer srv.Close()
//	// SOCKS5 proxy at srv.SOCKSAddr(); files under srv.BaseURL(),
//	// "http://<56 base32 chars>.onion/dump/"; srv.URLs() lists them.
//	// Compare what you downloaded with dump.Open(path).
//	// srv.Stats() and srv.Timeline(time.Second) measure the run.
//
// # Content
//
// A Dump is a list of files whose bytes are generated, never stored: block
// i (64 KiB) of a file is a ChaCha8 stream keyed by SHA-256(seed, path, i),
// with a type-specific magic number (JPEG, PDF, zip...) at offset 0. Any
// range costs at most one block of generation per block touched. The same
// seed always gives the same names, sizes, times and bytes.
//
// The HTTP side serves /dump/<path> with net/http's ServeContent: single and
// multiple ranges, 416 with "Content-Range: bytes */SIZE", a strong ETag,
// Last-Modified, If-Range, keep-alive; with Model.Digest, a Repr-Digest
// header (RFC 9530) holding the SHA-256 of the whole file. Every folder has a
// listing in nginx's autoindex layout (CRLF lines, folders first, names
// padded or cut to 50 columns, dd-Mon-yyyy hh:mm UTC, exact sizes, "-" for
// folders, hrefs percent-escaped by EscapePath). A folder without its slash
// is redirected (301) to the folder with it, as nginx does.
//
// # The network model
//
// A SOCKS5 CONNECT (RFC 1928) to Host():80 opens a stream; the circuit is
// named by the RFC 1929 username and password (no authentication is one
// shared circuit, "anonymous"). Any other host gets reply 0x04, Host() on
// another port 0x05, another well-formed v3 onion Model.UnknownOnion
// (default 0xF0, Tor's "descriptor can not be found"), a malformed onion
// 0xF6; commands other than CONNECT get 0x07. Failures are answered at once.
//
// A circuit's first CONNECT waits Model.Build (concurrent CONNECTs wait for
// the same build); every CONNECT then waits one RTT before its reply. Bytes
// from the client reach the server one RTT after they arrive, so a request
// costs RTT + size/speed. Bytes to the client pass two token buckets in
// turn: the circuit's (its speed, shared by all its streams) and the link's
// (Model.LinkCap, shared by everything), in writes of 1-16 KiB (about 1/16 s
// of the circuit's speed). A circuit with no open stream for
// Model.CircuitIdle is rebuilt by the next CONNECT: it pays Build again and
// draws a new speed.
//
// Direct mode, for tools without SOCKS (curl, aria2c): HTTPURL() serves the
// same tree, and each TCP connection is its own circuit, "direct-N" for the
// N-th connection, with a speed drawn the same way. It pays one RTT when
// accepted (standing for the stream setup) and one RTT per request, and no
// Build; it shares the link cap with the SOCKS side.
//
// Faults: each file response with a non-empty body draws, from a generator
// seeded by (Model.Seed, circuit, stream number), whether it is cut
// (CutProb) or stalls (StallProb), and a point uniform in [0, body length).
// A cut delivers the bytes before the point and closes the stream (FIN, so
// the client sees a short body); a stall delivers them and then nothing,
// keeping the stream open until the client closes it. Listings and HEAD
// requests never fault. The draw is per response, so a keep-alive stream
// fetching several files faults more often than one that fetches one.
//
// # Caveats
//
// Speeds and faults are functions of the seed and of circuit identities and
// stream numbers; which stream gets which number depends on the order of
// concurrent CONNECTs, and wall-clock pacing is only as exact as the
// scheduler, so runs with concurrency are reproducible in distribution, not
// byte for byte in time. Stats.BytesSent counts bytes handed to the kernel,
// so a client that stops reading may be charged for up to a socket buffer
// it never read. Stats.BodyBytes is the part of BytesSent that is file
// content (bodies of 200 and 206 answers to GET; a multipart/byteranges
// answer counts its part headers too); the handler flushes around each body
// write so the relay knows exactly where bodies lie in a stream.
package demo
