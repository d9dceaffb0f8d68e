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

import "path/filepath"

// Name is the state folder's name inside the output folder.
const Name = ".grab"

// Dir is an output folder.
type Dir string

// State is DIR/.grab.
func (d Dir) State() string { return filepath.Join(string(d), Name) }

// DB is the job's bbolt database.
func (d Dir) DB() string { return filepath.Join(d.State(), "state.db") }

// PID is the file naming the process that holds the job.
func (d Dir) PID() string { return filepath.Join(d.State(), "pid") }

// Parts is the folder of partial files.
func (d Dir) Parts() string { return filepath.Join(d.State(), "part") }

// Tor is where grab's own tors keep their state: guards and the consensus
// survive a resume.
func (d Dir) Tor() string { return filepath.Join(d.State(), "tor") }

// Sums is the SHA256SUMS of the finished files.
func (d Dir) Sums() string { return filepath.Join(d.State(), "SHA256SUMS") }

// Socket is where a running job serves its status.
func (d Dir) Socket() string { return filepath.Join(d.State(), "status.sock") }

// Manifest is the evidence manifest.
func (d Dir) Manifest() string { return filepath.Join(d.State(), "manifest.jsonl") }
