package jobdir

import "path/filepath"

// Name is the state folder's name inside the output folder.
const Name = ".grab"

// PartsRel is the folder of partial files, relative to the output folder
// (for opening beneath it with os.Root).
const PartsRel = Name + "/part"

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

// ManifestRel is the evidence manifest, relative to the output folder
// (for opening beneath it with os.Root).
const ManifestRel = Name + "/manifest.jsonl"

// Manifest is the evidence manifest.
func (d Dir) Manifest() string { return filepath.Join(d.State(), "manifest.jsonl") }
