package bench

import (
	"os"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"time"
)

// CPUProfile writes a CPU profile of the process to path until stop is
// called, for `go tool pprof`; "" profiles nothing.
func CPUProfile(path string) (stop func(), err error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err == nil {
		err = pprof.StartCPUProfile(f)
	}
	if err != nil {
		return func() {}, err
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}

// HeapProfile keeps at path a heap profile taken when the heap in use was
// at its largest so far, looked at twice a second, for `go tool pprof
// -sample_index inuse_space`; "" profiles nothing. A failed write goes to
// warn and ends the profile.
func HeapProfile(path string, warn func(error)) (stop func()) {
	if path == "" {
		return func() {}
	}
	runtime.MemProfileRate = 64 << 10
	stopWatch := watchHeap(500*time.Millisecond, func() bool {
		if err := writeHeapProfile(path); err != nil {
			warn(err)
			return false
		}
		return true
	})
	return func() { stopWatch() }
}

func writeHeapProfile(path string) error {
	f, err := os.Create(path + ".new")
	if err != nil {
		return err
	}
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(path+".new", path)
}

// watchHeap samples the bytes of live and not yet swept heap objects
// every `every` until the returned function is called, which returns
// their peak. grew, if not nil, is called whenever the heap is 5% above
// where it was at the last call; once it returns false it is not called
// again.
func watchHeap(every time.Duration, grew func() bool) (stop func() uint64) {
	done, peak := make(chan struct{}), make(chan uint64, 1)
	go func() {
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		var hwm, told uint64
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			metrics.Read(s)
			v := s[0].Value.Uint64()
			hwm = max(hwm, v)
			if grew != nil && v > told+told/20 {
				told = v
				if !grew() {
					grew = nil
				}
			}
			select {
			case <-done:
				peak <- hwm
				return
			case <-tick.C:
			}
		}
	}()
	return func() uint64 { close(done); return <-peak }
}
