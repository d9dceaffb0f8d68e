// Package fetch is grab's engine: it pulls a set of remote files with many
// workers, each holding its own connection (and, behind a Tor proxy, its own
// circuit), and keeps every verified byte across crashes.
//
// A file is tracked in fixed-size blocks (BlockSize, 256 KiB by default).
// Workers ask the scheduler for a task: a run of pending blocks of one file,
// at most ChunkSize long. Bytes are written where they belong in a partial
// file under the state folder and hashed block by block as they arrive; a
// finished block is marked done in memory at once and made durable by the
// committer, which fdatasyncs the partial files and only then records the
// block hashes through the Journal, every CommitEvery (100 ms). A crash
// therefore costs at most the blocks in flight plus one commit interval.
// The pending files are indexed (queue.go) and a commit looks only at the
// files that changed, so neither grows with the size of the job.
//
// The main loop, in short:
//
//	load files and block hashes from the Journal
//	start the committer; re-hash the recorded blocks from disk (in the background, queueing each file once checked)
//	start Workers workers, each with its own Conn:
//	    for task := next() {            // a pending run, or the back half of the largest running task
//	        stream := conn.Get(task)    // one request for the run; the first one also learns size and validator
//	                                    // (small whole files, with a Batcher: several to a request, streams in turn)
//	        copy stream → partial file, hash per block, mark blocks done
//	        on error: requeue the rest, back off, or fail the file (permanent errors)
//	        when a file has every block: read it back once, check block hashes and known digests,
//	            mark it done; the next commit syncs it, records it and renames it into the tree
//	    }
//	stop: wait for workers, final commit
//
// The engine does not know HTTP. A Source hands out Conns, and a Conn turns a
// Request (a byte range of a remote file with what is known of it) into a
// Stream. A Source that cannot serve ranges returns whole-file streams, and
// the engine then fetches that file as one stream. A Conn that is a
// Batcher fetches several small whole files in one request (batch.go).
package fetch
