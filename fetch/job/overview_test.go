package job

import (
	"reflect"
	"testing"

	"github.com/grab-ir/grab/fetch"
)

// Listings are left out, a file without a local name shows its URL,
// estimates count in the totals and skipped files only in Skipped.
func TestOverviewOf(t *testing.T) {
	files := []fetch.File{
		{Kind: fetch.KindListing, URL: "http://h/d/", State: fetch.Done},
		{Kind: fetch.KindFile, Path: "b.jpg", URL: "http://h/d/b.jpg", Class: "photos", Size: 10, State: fetch.Done, SHA256: "ab"},
		{Kind: fetch.KindFile, Path: "a.zip", URL: "http://h/d/a.zip", Class: "archives", Size: -1, Estimate: 100},
		{Kind: fetch.KindFile, URL: "http://h/d/?x=1", Class: "photos", Size: -1, Estimate: -1, State: fetch.Skipped, Err: "a page"},
		{Kind: fetch.KindFile, Path: "c.jpg", URL: "http://h/d/c.jpg", Class: "photos", Size: 20, State: fetch.Failed, Err: "404"},
	}
	want := Overview{
		Files: []PlanFile{
			{Path: "b.jpg", URL: "http://h/d/b.jpg", Class: "photos", Size: 10, State: "done", SHA256: "ab"},
			{Path: "a.zip", URL: "http://h/d/a.zip", Class: "archives", Size: -1, Estimate: 100, State: "pending"},
			{Path: "http://h/d/?x=1", URL: "http://h/d/?x=1", Class: "photos", Size: -1, State: "skipped", Error: "a page"},
			{Path: "c.jpg", URL: "http://h/d/c.jpg", Class: "photos", Size: 20, State: "failed", Error: "404"},
		},
		Totals:  []PlanTotal{{Class: "photos", Files: 2, Done: 1, Bytes: 30}, {Class: "archives", Files: 1, Bytes: 100}},
		Skipped: 1,
	}
	if got := OverviewOf(files); !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %+v\nwant %+v", got, want)
	}
}
