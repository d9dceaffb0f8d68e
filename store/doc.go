// Package store keeps a grab job in a bbolt database at DIR/.grab/state.db
// and implements fetch.Journal. Nothing outside this package sees bbolt.
//
// # Basics
//
// Open takes the job's lock: a second process opening the same job fails
// at once with ErrInUse, which names the holder's pid. The database has
// three top-level buckets:
//
//	meta    "format" → the record format version ("1"); "job" → JSON Job
//	files   8-byte big-endian file ID → JSON file record (see docs/state.md)
//	blocks  8-byte file ID → bucket of 8-byte block index → 32-byte SHA-256
//
// # Caveats
//
// Records are copied out of transactions before they are returned. A
// database written by a newer grab (a higher format) is refused with
// ErrFormat rather than misread.
package store
