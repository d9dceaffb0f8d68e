package fetch

import (
	"crypto/sha256"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/grab-ir/grab/fetch/digest"
)

// BenchmarkFinishBig is the final check of a 256 MiB file: every block
// read back once and checked against its hash, and the file's SHA-256
// either from the running hash (blocks arrived in order: no second hash)
// or computed in the same pass while other cores check the blocks.
//
//	go test -run '^$' -bench FinishBig -benchtime 3x ./fetch
func BenchmarkFinishBig(b *testing.B) {
	const size = 256 << 20
	dir := b.TempDir()
	e, err := New(Config{Dir: dir, Source: nopSource{}, Journal: memJournal{}})
	if err != nil {
		b.Fatal(err)
	}
	bs := e.cfg.BlockSize
	data := make([]byte, size)
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < size; i += 8 {
		v := r.Uint64()
		for k := range 8 {
			data[i+k] = byte(v >> (8 * k))
		}
	}
	path := filepath.Join(dir, "part")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		b.Fatal(err)
	}
	part, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer part.Close()
	hashes := make([][32]byte, size/bs)
	for i := range hashes {
		hashes[i] = sha256.Sum256(data[int64(i)*bs : int64(i+1)*bs])
	}
	whole := sha256.Sum256(data)
	for _, c := range []struct {
		name    string
		running bool
	}{{"running", true}, {"onepass", false}} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(size)
			for b.Loop() {
				running := ""
				if c.running {
					running = hexOf(whole)
				}
				bad, got := e.verify(part, size, hashes, nil, running)
				if len(bad) > 0 || got[digest.SHA256] != hexOf(whole) {
					b.Fatalf("%d bad blocks, sha256 %s", len(bad), got[digest.SHA256])
				}
			}
		})
	}
	// What the check did before: both hashes, one after the other, on one
	// thread.
	b.Run("before", func(b *testing.B) {
		b.SetBytes(size)
		buf := make([]byte, bs)
		for b.Loop() {
			h := digest.NewHasher(nil)
			for i := range hashes {
				part.ReadAt(buf, int64(i)*bs)
				if sha256.Sum256(buf) != hashes[i] {
					b.Fatal("bad block")
				}
				h.Write(buf)
			}
			if h.Sum()[digest.SHA256] != hexOf(whole) {
				b.Fatal("bad sum")
			}
		}
	})
}

func hexOf(h [32]byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 64)
	for i, c := range h {
		out[2*i], out[2*i+1] = digits[c>>4], digits[c&15]
	}
	return string(out)
}
