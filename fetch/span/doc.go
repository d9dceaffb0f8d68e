// Package span holds the byte-range arithmetic of grab: half-open ranges, the
// HTTP Range and Content-Range header forms (RFC 9110 section 14), and the
// fixed-size blocks that files are hashed and tracked in.
//
// Every range here is half-open, [Start, End), so that lengths are End-Start
// and adjacent ranges share a boundary. HTTP writes ranges inclusively
// ("bytes=0-99" is 100 bytes); the conversion happens only in Header and
// ParseContentRange.
package span
