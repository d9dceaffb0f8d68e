// Package httpsrc fetches files over HTTP/1.1 and HTTPS for the engine.
//
// Every request asks for one byte range (the first one "bytes=0-N", so no
// HEAD is ever needed) and, once the file's validator is known, carries it
// as If-Range: a server whose file changed then answers 200 with the new
// version instead of a 206 with bytes of it. Answers are checked against
// what was asked: a 206 must carry exactly one Content-Range starting where
// the request did and agreeing with Content-Length; a 200 to a range request
// with the same validator means the server ignores ranges and the file is
// fetched as one stream.
//
// Its client (NewClient) dials only through one circuit of package dial,
// asks for no compression and follows redirects only on the same host, so
// an onion source never sends grab to the clearnet.
package httpsrc
