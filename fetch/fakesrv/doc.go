// Package fakesrv is an HTTP server for tests that serves files the way
// real servers do, and lies the ways real servers lie: ignoring Range,
// answering with the wrong Content-Range, cutting bodies short, changing a
// file between requests, failing with 5xx, 404 or 429.
package fakesrv
