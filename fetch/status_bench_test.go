package fetch

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkStatus is one Status of a job of 500,000 files (the display
// and the status sampler ask for one twice a second each): it walks every
// file under e.mu, which no lane can take meanwhile.
func BenchmarkStatus(b *testing.B) {
	e, err := New(Config{Dir: b.TempDir(), Source: nopSource{}, Journal: memJournal{}, Workers: 1, Rand: rand.New(rand.NewPCG(1, 2))})
	if err != nil {
		b.Fatal(err)
	}
	files := make([]File, 500_000)
	classes := []string{"photos", "documents", "archives", "other"}
	for i := range files {
		files[i] = File{URL: fmt.Sprintf("http://h/dump/%d/%d.jpg", i%50, i), Path: fmt.Sprintf("%d/%d.jpg", i%50, i), Size: 10_000, Class: classes[i%4]}
	}
	e.mu.Lock()
	e.add(files)
	e.mu.Unlock()
	b.ResetTimer()
	for b.Loop() {
		e.Status()
	}
}
