// Package jobdir is the one place that knows how grab lays out its state
// inside an output folder:
//
//	DIR/                 the output tree: only complete, verified files
//	DIR/.grab/           grab's own folder (never handed out to a remote name)
//	DIR/.grab/state.db   the job's record (bbolt; see docs/state.md)
//	DIR/.grab/pid        the pid of the grab that holds the job
//	DIR/.grab/part/      partial files, by file ID
//	DIR/.grab/tor/       the state of grab's own tors (--tor), one folder each
//	DIR/.grab/SHA256SUMS every finished file's SHA-256, sha256sum's format
//	DIR/.grab/status.sock the running job's live status (grab status)
//	DIR/.grab/manifest.jsonl the evidence manifest, kept current as files finish
package jobdir
