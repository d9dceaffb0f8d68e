package fetch

import "github.com/grab-ir/grab/fetch/digest"

// Digests a stream announces (an HTTP Digest header, an rsync daemon's
// whole-file checksum) belong to the version it came from: a restart for
// another version drops them, and keeps those given by the user
// (--checksums). Which ones were learnt is known for this run only; a
// resumed job keeps them all, so a file changed after a resume fails its
// check instead of landing as a mix.

// learnDigests merges a stream's digests into f's expected ones and
// notes those that were new. It reports whether any were. e.mu is held.
func (f *fileState) learnDigests(s digest.Set) bool {
	if f.Expect == nil {
		f.Expect = digest.Set{}
	}
	n := len(f.Expect)
	for alg, v := range s {
		if _, ok := f.Expect[alg]; !ok {
			f.Expect[alg] = v
			f.more().learned = append(f.more().learned, alg)
		}
	}
	return len(f.Expect) > n
}

// forgetLearned drops the digests learnt from streams of the old version.
// e.mu is held.
func (f *fileState) forgetLearned() {
	if f.rare == nil {
		return
	}
	for _, alg := range f.rare.learned {
		delete(f.Expect, alg)
	}
	f.rare.learned = nil
}
