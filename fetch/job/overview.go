package job

import "github.com/grab-ir/grab/fetch"

// Overview is a job's plan as `grab ls` shows it: the files in the order
// Plan gave them (listings left out) and totals per class, in the order
// the classes first appear. It is the schema of `grab ls --json`.
type Overview struct {
	Files   []PlanFile  `json:"files"`
	Totals  []PlanTotal `json:"totals"`
	Skipped int         `json:"skipped"` // files left out by filters and rules (a query link that is a page)
}

// PlanFile is one file of an Overview.
type PlanFile struct {
	Path     string `json:"path"` // the URL when no local name could be made for it
	URL      string `json:"url"`
	Class    string `json:"class"`
	Size     int64  `json:"size"`               // -1 unknown
	Estimate int64  `json:"estimate,omitempty"` // from a listing, when size is unknown
	State    string `json:"state"`
	SHA256   string `json:"sha256,omitempty"`
	Error    string `json:"error,omitempty"`
}

// PlanTotal is one class of an Overview; skipped files are not counted.
type PlanTotal struct {
	Class string `json:"class"`
	Files int    `json:"files"`
	Done  int    `json:"done"`
	Bytes int64  `json:"bytes"` // known sizes plus estimates
}

// OverviewOf sums up files, as Plan returns them.
func OverviewOf(files []fetch.File) Overview {
	var o Overview
	at := map[string]int{} // class -> index in o.Totals
	for _, f := range files {
		if f.Kind != fetch.KindFile {
			continue
		}
		if f.Path == "" {
			f.Path = f.URL
		}
		e := PlanFile{Path: f.Path, URL: f.URL, Class: f.Class, Size: f.Size, State: f.State.String(), SHA256: f.SHA256, Error: f.Err}
		if f.Size < 0 && f.Estimate >= 0 {
			e.Estimate = f.Estimate
		}
		o.Files = append(o.Files, e)
		if f.State == fetch.Skipped {
			o.Skipped++
			continue
		}
		i, ok := at[f.Class]
		if !ok {
			i = len(o.Totals)
			at[f.Class] = i
			o.Totals = append(o.Totals, PlanTotal{Class: f.Class})
		}
		t := &o.Totals[i]
		t.Files++
		if f.State == fetch.Done {
			t.Done++
		}
		t.Bytes += max(f.Size, e.Estimate, 0)
	}
	return o
}
