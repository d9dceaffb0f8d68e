package httpsrc_test

import (
	"net/http"
	"testing"

	"github.com/grab-ir/grab/fetch"
	"github.com/grab-ir/grab/fetch/dial"
	"github.com/grab-ir/grab/fetch/fetchtest"
	"github.com/grab-ir/grab/fetch/httpsrc"
	"github.com/grab-ir/grab/fetch/source/sourcetest"
)

// harness serves each file from its own lying server.
type harness struct{ src *httpsrc.Source }

func (h harness) Source() fetch.Source { return h.src }

func (h harness) Serve(t *testing.T, name string, data []byte, lie sourcetest.Lie) (string, bool) {
	f := &fetchtest.File{Data: data}
	switch lie {
	case sourcetest.WrongOffset:
		f.ShiftRange = 7
	case sourcetest.ShortBody:
		f.CutAfter = 1000
	case sourcetest.IgnoreRange:
		f.NoRanges = true
	case sourcetest.Unavailable:
		f.Status = http.StatusServiceUnavailable
	case sourcetest.Changed:
		other := append([]byte(nil), data...)
		other[0] ^= 0xff
		f.Versions, f.ChangeAfter = [][]byte{other[:len(other)-10]}, 1
	}
	files := map[string]*fetchtest.File{"/" + name: f}
	if lie == sourcetest.Missing {
		files = map[string]*fetchtest.File{}
	}
	srv := fetchtest.New(files)
	t.Cleanup(srv.Close)
	return srv.FileURL("/" + name), true
}

func TestConformance(t *testing.T) {
	sourcetest.Run(t, func(t *testing.T) sourcetest.Harness {
		d, err := dial.New("")
		if err != nil {
			t.Fatal(err)
		}
		return harness{src: &httpsrc.Source{Dialer: d}}
	})
}
