package bench

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// The heap profile is on disk at once (the first sample is a new peak),
// and stop leaves it complete, without its temporary file.
func TestHeapProfile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "heap.prof")
	stop := HeapProfile(path, func(err error) { t.Errorf("warn: %v", err) })
	keep := make([]byte, 8<<20)
	waitFile(t, path)
	stop()
	_ = keep[len(keep)-1]
	if _, err := os.Stat(path + ".new"); !os.IsNotExist(err) {
		t.Fatalf("temporary file left: %v", err)
	}
	if st, err := os.Stat(path); err != nil || st.Size() == 0 {
		t.Fatalf("profile: %v %v", st, err)
	}
}

// A profile that cannot be written is said once and then left alone.
func TestHeapProfileUnwritable(t *testing.T) {
	warned := make(chan error, 10)
	stop := HeapProfile(filepath.Join(t.TempDir(), "no", "heap.prof"), func(err error) { warned <- err })
	err := <-warned
	stop()
	if err == nil || len(warned) != 0 {
		t.Fatalf("warnings: %v and %d more", err, len(warned))
	}
}

func TestCPUProfile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cpu.prof")
	stop, err := CPUProfile(path)
	if err != nil {
		t.Fatal(err)
	}
	stop()
	if st, err := os.Stat(path); err != nil || st.Size() == 0 {
		t.Fatalf("profile: %v %v", st, err)
	}
	if _, err := CPUProfile(filepath.Join(t.TempDir(), "no", "cpu.prof")); err == nil {
		t.Fatal("no error for a folder that does not exist")
	}
}

func waitFile(t *testing.T, path string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if _, err := os.Stat(path); err == nil {
			return
		}
	}
	t.Fatalf("%s never written", path)
}
