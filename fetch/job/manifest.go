package job

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/grab-ir/grab/fetch"
	"github.com/grab-ir/grab/fetch/digest"
	"github.com/grab-ir/grab/fetch/jobdir"
)

// Entry is one completed file in the manifest (DIR/.grab/manifest.jsonl,
// one JSON object a line; the schema is in docs/manifest.md).
type Entry struct {
	Path   string `json:"path"` // relative to DIR, slash-separated
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
	MD5    string `json:"md5,omitempty"`  // with --md5
	SHA1   string `json:"sha1,omitempty"` // with --sha1
	// Server holds the digests the server announced (Repr-Digest,
	// Digest), Given those of --checksums; both were checked.
	Server       digest.Set `json:"server_digests,omitempty"`
	Given        digest.Set `json:"given_digests,omitempty"`
	URL          string     `json:"url"`
	ETag         string     `json:"etag,omitempty"`
	LastModified time.Time  `json:"last_modified,omitzero"` // the server's time; also the file's mtime
	FirstByte    time.Time  `json:"first_byte,omitzero"`    // of the run that completed it
	LastByte     time.Time  `json:"last_byte,omitzero"`
	Finished     time.Time  `json:"finished,omitzero"` // verified and placed in the tree (unknown when recovered)
	// Requests and Failures count the run's requests for the file (ranges,
	// retries, twins at the end) and those that failed.
	Requests int `json:"requests"`
	Failures int `json:"failed_requests"`
	// Recovered marks an entry written again from the job's state after
	// a crash lost the original line (its times and extra digests are
	// gone).
	Recovered bool   `json:"recovered,omitempty"`
	Version   string `json:"grab_version"`
}

// entryOf describes a file just finished. given are the --checksums
// digests of it, if any.
func entryOf(f fetch.File, given digest.Set, now time.Time) Entry {
	var r fetch.Run
	if f.Run != nil {
		r = *f.Run
	}
	e := Entry{Path: f.Path, Size: f.Size, SHA256: f.SHA256, URL: f.URL, FirstByte: r.FirstByte, LastByte: r.LastByte,
		Finished: now.UTC(), Requests: r.Requests, Failures: r.Failures, Version: Version}
	e.MD5, e.SHA1 = r.Digests[digest.MD5], r.Digests[digest.SHA1]
	if strings.HasPrefix(f.Validator, `"`) {
		e.ETag = f.Validator
	} else if t, err := http.ParseTime(f.Validator); err == nil {
		e.LastModified = t.UTC()
	}
	if !r.Modified.IsZero() {
		e.LastModified = r.Modified.UTC()
	}
	for alg, v := range f.Expect {
		if given[alg] == v {
			if e.Given == nil {
				e.Given = digest.Set{}
			}
			e.Given[alg] = v
			continue
		}
		if e.Server == nil {
			e.Server = digest.Set{}
		}
		e.Server[alg] = v
	}
	if !e.FirstByte.IsZero() {
		e.FirstByte, e.LastByte = e.FirstByte.UTC(), e.LastByte.UTC()
	}
	return e
}

// syncEvery is how often appended manifest lines are made durable: in
// batches, never one fsync a file.
const syncEvery = time.Second

// manifestLog appends entries to the manifest as files finish.
type manifestLog struct {
	mu    sync.Mutex
	f     *os.File
	dirty bool
	err   error // the first write or sync error
	stop  chan struct{}
	done  chan struct{}
}

// openManifest opens the manifest for appending, beneath dir and never
// through a link planted in its place.
func openManifest(dir string) (*manifestLog, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("opening manifest: %w", err)
	}
	defer root.Close()
	f, err := jobdir.Open(root, jobdir.ManifestRel, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("opening manifest: %w", err)
	}
	m := &manifestLog{f: f, stop: make(chan struct{}), done: make(chan struct{})}
	go m.syncLoop()
	return m, nil
}

// add appends one entry; it is made durable within syncEvery.
func (m *manifestLog) add(e Entry) {
	b, err := json.Marshal(e)
	m.mu.Lock()
	defer m.mu.Unlock()
	if err == nil {
		_, err = m.f.Write(append(b, '\n'))
	}
	if err != nil && m.err == nil {
		m.err = fmt.Errorf("writing manifest: %w", err)
	}
	m.dirty = true
}

func (m *manifestLog) sync() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.dirty {
		return
	}
	m.dirty = false
	if err := m.f.Sync(); err != nil && m.err == nil {
		m.err = fmt.Errorf("syncing manifest: %w", err)
	}
}

func (m *manifestLog) syncLoop() {
	defer close(m.done)
	t := time.NewTicker(syncEvery)
	defer t.Stop()
	for {
		select {
		case <-m.stop:
			return
		case <-t.C:
			m.sync()
		}
	}
}

// close makes everything durable and returns the first error met.
func (m *manifestLog) close() error {
	close(m.stop)
	<-m.done
	m.sync()
	if err := m.f.Close(); err != nil && m.err == nil {
		m.err = err
	}
	return m.err
}

// ReadManifest reads the manifest of the job in dir: one entry a file,
// the last one written when a file appears twice, sorted by path. It
// needs no lock: it works while the job runs.
func ReadManifest(dir string) ([]Entry, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("reading manifest: %w", err)
	}
	defer root.Close()
	f, err := jobdir.Open(root, jobdir.ManifestRel, os.O_RDONLY, 0)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading manifest: %w", err)
	}
	defer f.Close()
	return readManifest(f)
}

func readManifest(r io.Reader) ([]Entry, error) {
	byPath := map[string]Entry{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for n := 1; sc.Scan(); n++ {
		var e Entry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			// A crash can leave half a line at the end; it is written
			// again (recovered) on resume.
			continue
		}
		byPath[e.Path] = e
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading manifest: %w", err)
	}
	out := make([]Entry, 0, len(byPath))
	for _, e := range byPath {
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b Entry) int { return strings.Compare(a.Path, b.Path) })
	return out, nil
}

// Manifest formats.
const (
	FormatSHA256Sum = "sha256sum"
	FormatHashdeep  = "hashdeep"
	FormatCSV       = "csv"
	FormatJSON      = "json"
)

// Formats lists the manifest formats.
var Formats = []string{FormatSHA256Sum, FormatHashdeep, FormatCSV, FormatJSON}

// WriteManifest writes entries in a format: sha256sum's (`sha256sum -c`
// in DIR checks it), hashdeep's (`hashdeep -a -k FILE -l -r ...` in DIR
// audits it), CSV with a header, or a JSON array.
func WriteManifest(w io.Writer, entries []Entry, format string) error {
	bw := bufio.NewWriter(w)
	switch format {
	case FormatSHA256Sum:
		for _, e := range entries {
			fmt.Fprintln(bw, sumLine(e.SHA256, e.Path))
		}
	case FormatHashdeep:
		writeHashdeep(bw, entries)
	case FormatCSV:
		cw := csv.NewWriter(bw)
		cw.Write([]string{"path", "size", "sha256", "md5", "sha1", "server_digests", "url", "etag", "last_modified", "first_byte", "last_byte", "finished", "requests", "failed_requests", "grab_version"})
		for _, e := range entries {
			cw.Write([]string{e.Path, strconv.FormatInt(e.Size, 10), e.SHA256, e.MD5, e.SHA1, setString(e.Server), e.URL, e.ETag,
				timeString(e.LastModified), timeString(e.FirstByte), timeString(e.LastByte), timeString(e.Finished),
				strconv.Itoa(e.Requests), strconv.Itoa(e.Failures), e.Version})
		}
		cw.Flush()
		if err := cw.Error(); err != nil {
			return err
		}
	case FormatJSON:
		enc := json.NewEncoder(bw)
		enc.SetIndent("", "  ")
		if entries == nil {
			entries = []Entry{}
		}
		if err := enc.Encode(entries); err != nil {
			return err
		}
	default:
		return &UsageError{Msg: fmt.Sprintf("--format %q: want one of %s", format, strings.Join(Formats, ", "))}
	}
	return bw.Flush()
}

// sumLine is one line of sha256sum's format. A name with a backslash or a
// newline is escaped the way GNU sha256sum does: the line starts with a
// backslash.
func sumLine(sum, name string) string {
	if !strings.ContainsAny(name, "\\\n\r") {
		return sum + "  " + name
	}
	name = strings.NewReplacer(`\`, `\\`, "\n", `\n`, "\r", `\r`).Replace(name)
	return `\` + sum + "  " + name
}

// writeHashdeep writes hashdeep's known-file format with the algorithms
// every entry has: sha256 always, md5 and sha1 when the job computed them.
func writeHashdeep(w io.Writer, entries []Entry) {
	md5, sha1 := len(entries) > 0, len(entries) > 0
	for _, e := range entries {
		md5 = md5 && e.MD5 != ""
		sha1 = sha1 && e.SHA1 != ""
	}
	cols := []string{"size"}
	if md5 {
		cols = append(cols, "md5")
	}
	if sha1 {
		cols = append(cols, "sha1")
	}
	cols = append(cols, "sha256", "filename")
	fmt.Fprintf(w, "%%%%%%%% HASHDEEP-1.0\n%%%%%%%% %s\n## written by grab %s\n## \n", strings.Join(cols, ","), Version)
	for _, e := range entries {
		row := []string{strconv.FormatInt(e.Size, 10)}
		if md5 {
			row = append(row, e.MD5)
		}
		if sha1 {
			row = append(row, e.SHA1)
		}
		row = append(row, e.SHA256, e.Path)
		fmt.Fprintln(w, strings.Join(row, ","))
	}
}

func timeString(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func setString(s digest.Set) string {
	var parts []string
	for alg, v := range s {
		parts = append(parts, alg+"="+v)
	}
	slices.Sort(parts)
	return strings.Join(parts, " ")
}
