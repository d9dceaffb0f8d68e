package job_test

import (
	"strings"
	"testing"
)

// A Linux file whose name holds a backslash (common in dumps: Windows
// paths unpacked on Linux, "C:\Users\x\doc.txt" as one name) is a file of
// the dump: it lands with "_" for "\", as the mapper names it (it had been
// left out without a word; found by a red-team review). A backslash before
// a glob character reaches the daemon escaped.
func TestRsyncBackslashNames(t *testing.T) {
	d := serveAwkward(t)
	names := map[string][]byte{
		`back\slash.txt`:             []byte("backslash"),
		`C:\Users\x\Desktop\doc.txt`: []byte("a Windows path as one name"),
		`star\*.txt`:                 []byte("backslash and star"),
	}
	want := map[string][]byte{}
	for n, b := range awkward {
		want[n] = b
	}
	for n, b := range names {
		d.WriteFile(t, "leak/"+n, b)
		want[strings.ReplaceAll(n, `\`, "_")] = b // the mapper's "\" → "_"
	}
	out, files, err := runJob(t, settings(), "rsync://"+d.Addr+"/plain/leak/")
	if err != nil {
		t.Errorf("job: %v", err)
	}
	recorded := 0
	for _, f := range files {
		if strings.Contains(f.URL, "%5C") || strings.Contains(f.URL, `\`) {
			recorded++
		}
	}
	if recorded == 0 {
		t.Errorf("none of the %d files with a backslash is in the job, even as left out", len(names))
	}
	sameTree(t, want, tree(t, out))
}
