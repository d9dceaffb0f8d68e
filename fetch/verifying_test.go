package fetch_test

import (
	"context"
	"errors"
	"testing"

	"github.com/grab-ir/grab/fetch"
	"github.com/grab-ir/grab/fetch/fetchtest"
)

// On resume, the status tells the re-hashing of the recorded blocks up
// to all of them; the circuits are in the status with their rates and
// a finished file carries its digests and byte times.
func TestVerifyingProgressAndFileRecord(t *testing.T) {
	data := fetchtest.Data("v", 1024*kib)
	j := newJob(t, map[string]*fetchtest.File{"/x": {Data: data, StopAfter: 3}})
	j.cfg.Workers, j.cfg.ChunkSize, j.cfg.Retries = 1, 128*kib, 1000
	_, err := j.run(t.Context(), func(s fetch.Status) bool { return s.DoneBytes >= 256*kib }, "/x")
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("first run: %v", err)
	}
	j.srv.Update("/x", func(f *fetchtest.File) { f.StopAfter = 0 })
	var got fetch.File
	j.cfg.Finished = func(f fetch.File) { got = f }
	j.cfg.Hashes = []string{"md5"}
	e, err := j.run(t.Context(), nil, "/x")
	if err != nil {
		t.Fatal(err)
	}
	if s := e.Status(); s.Verifying != 0 || s.VerifyDone != s.VerifyTotal || s.VerifyTotal < 4*64*kib {
		t.Fatalf("verifying: %d files left, %d of %d bytes", s.Verifying, s.VerifyDone, s.VerifyTotal)
	}
	if r := got.Run; r == nil || r.Digests["md5"] == "" || len(r.Digests) != 1 || len(got.SHA256) != 64 || r.FirstByte.IsZero() || r.LastByte.Before(r.FirstByte) {
		t.Fatalf("finished file: %+v", got)
	}
	if c := e.Status().Circuits; len(c) != 1 || c[0].ID != 0 || c[0].Requests != 0 {
		t.Fatalf("circuits: %+v", c)
	}
}
