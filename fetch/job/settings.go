package job

import (
	"crypto/tls"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/grab-ir/grab/fetch"
	"github.com/grab-ir/grab/fetch/class"
	"github.com/grab-ir/grab/fetch/crawl"
	"github.com/grab-ir/grab/fetch/dial"
	"github.com/grab-ir/grab/fetch/httpsrc"
)

// Settings are a job's options. Those given on the command line are saved
// with the job; a resume uses the saved ones unless given again.
type Settings struct {
	Output    string   `json:"-"`
	Inputs    []string `json:"-"` // -i files: read once, their URLs are saved
	Verbose   bool     `json:"-"`
	DryRun    bool     `json:"-"`
	Proxy     string   `json:"proxy,omitempty"`
	Tor       bool     `json:"tor,omitempty"`
	TorPath   string   `json:"tor_path,omitempty"`   // absolute when it names a file
	TorConfig string   `json:"tor_config,omitempty"` // absolute path of extra torrc lines
	TorCount  int      `json:"tor_instances,omitempty"`
	Workers   int      `json:"workers"`
	Streams   int      `json:"streams"`
	Stall     string   `json:"stall_timeout"`
	LimitRate string   `json:"limit_rate,omitempty"`
	Chunk     string   `json:"chunk_size"`
	Retries   int      `json:"retries"`
	Checksums string   `json:"checksums,omitempty"`
	Priority  string   `json:"priority,omitempty"`
	Only      string   `json:"only,omitempty"`
	Include   []string `json:"include,omitempty"`
	Exclude   []string `json:"exclude,omitempty"`
	MinSize   string   `json:"min_size,omitempty"`
	MaxSize   string   `json:"max_size,omitempty"`
	Order     string   `json:"order"`
	Depth     int      `json:"depth"`
	Classes   []string `json:"classes,omitempty"`
	MaxWait   string   `json:"max_wait,omitempty"` // give up on a source unreachable this long; "" or 0: never
	Insecure  bool     `json:"insecure,omitempty"` // -k: HTTPS without certificate verification
	CACert    string   `json:"cacert,omitempty"`   // absolute path of trusted authorities (PEM)
	UserAgent string   `json:"user_agent,omitempty"`
	Headers   []string `json:"headers,omitempty"` // -H "Name: value"; "Name:" sends none
	Cookies   string   `json:"cookies,omitempty"` // absolute path of a cookies.txt
	MD5       bool     `json:"md5,omitempty"`     // MD5 of every file in the manifest
	SHA1      bool     `json:"sha1,omitempty"`    // SHA-1 of every file in the manifest
	// RsyncPasswordFile names a file whose first line is the password of
	// rsync modules (the path is saved, never the password); without it,
	// RsyncPassword (RSYNC_PASSWORD, read anew each run) is used.
	RsyncPasswordFile string `json:"rsync_password_file,omitempty"`
	RsyncPassword     string `json:"-"`
}

// savedFlags maps each command-line flag whose value is kept with the job
// to a copier of its field.
var savedFlags = map[string]func(dst, src *Settings){
	"proxy":         func(d, s *Settings) { d.Proxy = s.Proxy },
	"tor":           func(d, s *Settings) { d.Tor = s.Tor },
	"tor-path":      func(d, s *Settings) { d.TorPath = s.TorPath },
	"tor-config":    func(d, s *Settings) { d.TorConfig = s.TorConfig },
	"tor-instances": func(d, s *Settings) { d.TorCount = s.TorCount },
	"workers":       func(d, s *Settings) { d.Workers = s.Workers },
	"w":             func(d, s *Settings) { d.Workers = s.Workers },
	"chunk-size":    func(d, s *Settings) { d.Chunk = s.Chunk },
	"streams":       func(d, s *Settings) { d.Streams = s.Streams },
	"stall-timeout": func(d, s *Settings) { d.Stall = s.Stall },
	"limit-rate":    func(d, s *Settings) { d.LimitRate = s.LimitRate },
	"retries":       func(d, s *Settings) { d.Retries = s.Retries },
	"checksums":     func(d, s *Settings) { d.Checksums = s.Checksums },
	"priority":      func(d, s *Settings) { d.Priority = s.Priority },
	"only":          func(d, s *Settings) { d.Only = s.Only },
	"include":       func(d, s *Settings) { d.Include = s.Include },
	"exclude":       func(d, s *Settings) { d.Exclude = s.Exclude },
	"min-size":      func(d, s *Settings) { d.MinSize = s.MinSize },
	"max-size":      func(d, s *Settings) { d.MaxSize = s.MaxSize },
	"order":         func(d, s *Settings) { d.Order = s.Order },
	"depth":         func(d, s *Settings) { d.Depth = s.Depth },
	"class":         func(d, s *Settings) { d.Classes = s.Classes },
	"max-wait":      func(d, s *Settings) { d.MaxWait = s.MaxWait },
	"k":             func(d, s *Settings) { d.Insecure = s.Insecure },
	"insecure":      func(d, s *Settings) { d.Insecure = s.Insecure },
	"cacert":        func(d, s *Settings) { d.CACert = s.CACert },
	"A":             func(d, s *Settings) { d.UserAgent = s.UserAgent },
	"user-agent":    func(d, s *Settings) { d.UserAgent = s.UserAgent },
	"H":             func(d, s *Settings) { d.Headers = s.Headers },
	"header":        func(d, s *Settings) { d.Headers = s.Headers },
	"b":             func(d, s *Settings) { d.Cookies = s.Cookies },
	"cookie":        func(d, s *Settings) { d.Cookies = s.Cookies },
	"md5":           func(d, s *Settings) { d.MD5 = s.MD5 },
	"sha1":          func(d, s *Settings) { d.SHA1 = s.SHA1 },

	"rsync-password-file": func(d, s *Settings) { d.RsyncPasswordFile = s.RsyncPasswordFile },
}

// Defaults are the settings of a job whose command line sets nothing.
func Defaults() Settings {
	return Settings{TorCount: 1, Workers: 16, Chunk: "16M", Streams: 4, Stall: "30s", Retries: 10, Order: "size", Depth: 32}
}

// Merge returns the saved settings with the flags given now (by
// command-line name) laid over them.
func (s *Settings) Merge(saved json.RawMessage, given map[string]bool) (*Settings, error) {
	if len(saved) == 0 {
		return s, nil
	}
	m := *s
	if err := json.Unmarshal(saved, &m); err != nil {
		return nil, fmt.Errorf("reading the job's saved settings: %w", err)
	}
	m.Output, m.Inputs, m.Verbose, m.DryRun, m.RsyncPassword = s.Output, s.Inputs, s.Verbose, s.DryRun, s.RsyncPassword
	for name := range given {
		if cp, ok := savedFlags[name]; ok {
			cp(&m, s)
		}
	}
	// --tor and --proxy are two ways out: giving one on resume replaces
	// the other (giving both is refused by build).
	switch {
	case given["proxy"] && !given["tor"]:
		m.Tor, m.TorPath, m.TorConfig, m.TorCount = false, "", "", 1
	case given["tor"] && !given["proxy"]:
		m.Proxy = ""
	}
	return &m, nil
}

// plan is what the settings make: the pieces a run needs.
type plan struct {
	dialer  *dial.Dialer // with --tor, only for checks until tor runs (see startTor)
	tor     bool
	chunk   int64
	stall   time.Duration
	limit   float64
	classes *class.Set
	less    func(a, b *fetch.File) bool
	order   []string // class names in fetch order
	crawler *crawl.Crawler
	maxWait time.Duration
	maxBody int64       // --max-size: also the bound of a body of unknown length
	tls     *tls.Config // nil: the system's authorities
	header  http.Header // sent with every HTTP request
	cookies []httpsrc.Cookie
	// password is the rsync modules' password lookup (nil: none), set by
	// Open (grab ls needs none).
	password func(host, module, user string) string
}

// Check reports what is wrong with the settings, as a *UsageError.
func (s *Settings) Check() error {
	_, err := s.build()
	return err
}

// build checks the settings and makes the job's pieces.
func (s *Settings) build() (*plan, error) {
	j := &plan{}
	var err error
	if err := s.checkTor(); err != nil {
		return nil, err
	}
	j.tor = s.Tor
	if j.dialer, err = dial.New(s.Proxy); err != nil {
		return nil, &UsageError{Msg: err.Error(), Hint: "--proxy socks5h://127.0.0.1:9050"}
	}
	if s.Workers < 1 || s.Workers > 1024 {
		return nil, &UsageError{Msg: fmt.Sprintf("--workers %d: want 1 to 1024", s.Workers)}
	}
	if j.chunk, err = class.ParseSize(s.Chunk); err != nil || j.chunk <= 0 {
		return nil, &UsageError{Msg: fmt.Sprintf("--chunk-size %q: want a size such as 4M", s.Chunk)}
	}
	if s.Retries < 0 || s.Retries > 1000 {
		return nil, &UsageError{Msg: fmt.Sprintf("--retries %d: want 0 (give a file up at its first failure) to 1000", s.Retries)}
	}
	if s.Depth < 0 || s.Depth > 1000 {
		return nil, &UsageError{Msg: fmt.Sprintf("--depth %d: want 0 (only the start listing) to 1000", s.Depth)}
	}
	if s.Streams < 1 || s.Streams > 64 {
		return nil, &UsageError{Msg: fmt.Sprintf("--streams %d: want 1 to 64", s.Streams)}
	}
	if j.stall, err = time.ParseDuration(s.Stall); err != nil || j.stall < time.Second {
		return nil, &UsageError{Msg: fmt.Sprintf("--stall-timeout %q: want a duration of at least 1s, such as 30s", s.Stall)}
	}
	if s.LimitRate != "" {
		n, err := class.ParseSize(s.LimitRate)
		if err != nil || n <= 0 {
			return nil, &UsageError{Msg: fmt.Sprintf("--limit-rate %q: want bytes per second, such as 500k", s.LimitRate)}
		}
		j.limit = float64(n)
	}
	if s.MaxWait != "" {
		if j.maxWait, err = time.ParseDuration(s.MaxWait); err != nil || j.maxWait < 0 {
			return nil, &UsageError{Msg: fmt.Sprintf("--max-wait %q: want a duration such as 30m (0: wait for ever)", s.MaxWait)}
		}
	}
	if j.tls, err = tlsConfig(s.Insecure, s.CACert); err != nil {
		return nil, err
	}
	if j.header, err = s.httpHeader(); err != nil {
		return nil, err
	}
	if s.Cookies != "" {
		if j.cookies, err = readCookies(s.Cookies); err != nil {
			return nil, err
		}
	}
	if j.classes, err = class.NewSet(s.Classes); err != nil {
		return nil, &UsageError{Msg: err.Error(), Hint: "--class NAME=ext,ext (grab classes lists them)"}
	}
	ranks, err := j.classes.Order(s.Priority)
	if err != nil {
		return nil, &UsageError{Msg: "--priority: " + err.Error()}
	}
	j.order = append(j.order, "") // start URLs, before the crawl classifies anything
	for name := range ranks {
		j.order = append(j.order, name)
	}
	slices.SortFunc(j.order[1:], func(a, b string) int { return ranks[a] - ranks[b] })
	only, err := j.classes.ParseOnly(s.Only)
	if err != nil {
		return nil, &UsageError{Msg: "--only: " + err.Error()}
	}
	f := class.Filter{Include: s.Include, Exclude: s.Exclude}
	for _, sz := range []struct {
		name, v string
		p       *int64
	}{{"--min-size", s.MinSize, &f.MinSize}, {"--max-size", s.MaxSize, &f.MaxSize}} {
		if sz.v == "" {
			continue
		}
		if *sz.p, err = class.ParseSize(sz.v); err != nil {
			return nil, &UsageError{Msg: fmt.Sprintf("%s %q: want a size such as 10M", sz.name, sz.v)}
		}
	}
	if err := f.Validate(); err != nil {
		return nil, &UsageError{Msg: err.Error()}
	}
	j.maxBody = f.MaxSize
	if j.less, err = order(s.Order, ranks); err != nil {
		return nil, err
	}
	depth := s.Depth
	if depth == 0 {
		depth = crawl.StartOnly
	}
	j.crawler = crawl.New(crawl.Options{Classes: j.classes, Filter: f, Only: only, MaxDepth: depth})
	return j, nil
}

// order is the fetch order inside the priority classes.
func order(by string, ranks map[string]int) (func(a, b *fetch.File) bool, error) {
	rank := func(f *fetch.File) int { return ranks[f.Class] }
	size := func(f *fetch.File) int64 {
		switch {
		case f.Size >= 0:
			return f.Size
		case f.Estimate >= 0:
			return f.Estimate
		}
		return 1 << 62 // unknown sizes last
	}
	var within func(a, b *fetch.File) bool
	switch by {
	case "size":
		within = func(a, b *fetch.File) bool { return size(a) < size(b) }
	case "name":
		within = func(a, b *fetch.File) bool { return a.Path < b.Path }
	case "listing":
		within = func(a, b *fetch.File) bool { return false }
	default:
		return nil, &UsageError{Msg: fmt.Sprintf("--order %q: want size, name or listing", by)}
	}
	return func(a, b *fetch.File) bool {
		if ra, rb := rank(a), rank(b); ra != rb {
			return ra < rb
		}
		return within(a, b)
	}, nil
}

// checkTor checks the --tor flags against each other and --proxy.
func (s *Settings) checkTor() error {
	if s.Tor && s.Proxy != "" {
		return &UsageError{Msg: "--tor and --proxy conflict: --tor starts grab's own Tor, --proxy uses a running one", Hint: "give only one of them"}
	}
	if s.Tor {
		if s.TorCount < 1 || s.TorCount > maxTorInstances {
			return &UsageError{Msg: fmt.Sprintf("--tor-instances %d: want 1 to %d", s.TorCount, maxTorInstances)}
		}
		return nil
	}
	for _, f := range []struct {
		name string
		set  bool
	}{{"--tor-path", s.TorPath != ""}, {"--tor-config", s.TorConfig != ""}, {"--tor-instances", s.TorCount > 1}} {
		if f.set {
			return &UsageError{Msg: f.name + " needs --tor", Hint: "grab --tor " + f.name + " ..."}
		}
	}
	return nil
}

// httpHeader is what every HTTP request carries: through a proxy or
// grab's Tor, Tor Browser's User-Agent and Accept headers (a site's
// operator sees one more Tor Browser), directly grab's own User-Agent;
// then -A, then each -H ("Name: value" sets, "Name:" sends none).
func (s *Settings) httpHeader() (http.Header, error) {
	h := http.Header{}
	if s.Tor || s.Proxy != "" {
		h = httpsrc.BrowserHeader()
	}
	if s.UserAgent != "" {
		h.Set("User-Agent", s.UserAgent)
	}
	set := map[string]bool{}
	for i, line := range s.Headers {
		name, value, ok := strings.Cut(line, ":")
		name, value = strings.TrimSpace(name), strings.TrimSpace(value)
		if !ok || name == "" || strings.ContainsAny(name, " \t\r\n") || strings.ContainsAny(value, "\r\n") {
			// nothing of it is echoed: it may hold a secret
			return nil, &UsageError{Msg: fmt.Sprintf("-H number %d: want \"Name: value\" on one line", i+1), Hint: `-H "Referer: http://xxxx.onion/"`}
		}
		key := http.CanonicalHeaderKey(name)
		switch key {
		case "Range", "If-Range", "Accept-Encoding", "Content-Length", "Transfer-Encoding", "Connection":
			return nil, &UsageError{Msg: fmt.Sprintf("-H %s: grab sets this header itself", key)}
		}
		switch {
		case value == "" && key == "User-Agent":
			h[key] = []string{""} // no User-Agent at all
		case value == "":
			h.Del(key)
		case set[key]:
			h.Add(key, value)
		default:
			h.Set(key, value)
		}
		set[key] = true
	}
	return h, nil
}

// readCookies reads -b's cookies.txt.
func readCookies(name string) ([]httpsrc.Cookie, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, &HintError{Err: fmt.Errorf("--cookie: %w", err), Hint: "--cookie takes a cookies.txt (Netscape format), as exported from Tor Browser"}
	}
	defer f.Close()
	c, err := httpsrc.ParseCookies(f)
	if err != nil {
		return nil, &HintError{Err: fmt.Errorf("--cookie %s: %w", name, err), Hint: "--cookie takes a cookies.txt (Netscape format), as exported from Tor Browser"}
	}
	return c, nil
}

// tlsConfig reads --cacert and sets -k.
func tlsConfig(insecure bool, cacert string) (*tls.Config, error) {
	var pem []byte
	if cacert != "" {
		b, err := os.ReadFile(cacert)
		if err != nil {
			return nil, &HintError{Err: fmt.Errorf("--cacert: %w", err), Hint: "--cacert takes a file of PEM certificates"}
		}
		pem = b
	}
	tc, err := httpsrc.TLSConfig(insecure, pem)
	if err != nil {
		return nil, &UsageError{Msg: fmt.Sprintf("--cacert %s: %v", cacert, err), Hint: "--cacert takes a file of PEM certificates"}
	}
	return tc, nil
}

// AbsPaths makes the file names of the settings absolute, so that a
// resume from another folder finds the same files.
func (s *Settings) AbsPaths() error {
	var err error
	if s.TorConfig != "" {
		if s.TorConfig, err = filepath.Abs(s.TorConfig); err != nil {
			return fmt.Errorf("--tor-config: %w", err)
		}
	}
	if s.CACert != "" {
		if s.CACert, err = filepath.Abs(s.CACert); err != nil {
			return fmt.Errorf("--cacert: %w", err)
		}
	}
	if s.Cookies != "" {
		if s.Cookies, err = filepath.Abs(s.Cookies); err != nil {
			return fmt.Errorf("--cookie: %w", err)
		}
	}
	if s.RsyncPasswordFile != "" {
		if s.RsyncPasswordFile, err = filepath.Abs(s.RsyncPasswordFile); err != nil {
			return fmt.Errorf("--rsync-password-file: %w", err)
		}
	}
	if strings.ContainsRune(s.TorPath, filepath.Separator) {
		if s.TorPath, err = filepath.Abs(s.TorPath); err != nil {
			return fmt.Errorf("--tor-path: %w", err)
		}
	}
	return nil
}

// checkHosts refuses what the dialer cannot reach, before any network use.
// Through grab's own Tor every host can be reached: its SOCKS ports
// resolve names themselves (socks5h).
func (j *plan) checkHosts(targets []*url.URL) error {
	if j.tor {
		return nil
	}
	for _, u := range targets {
		if err := j.dialer.Check(u); err != nil {
			return fmt.Errorf("%s: %w", u.Host, err)
		}
	}
	return nil
}

// json is the form saved with the job.
func (s *Settings) json() ([]byte, error) { return json.Marshal(s) }

// kept describes the settings a resume keeps from earlier runs: those not
// given now that differ from the defaults, as flags ("--only photos -w 32").
func (s *Settings) kept(given map[string]bool) string {
	var cur, def map[string]any
	b, _ := json.Marshal(s)
	json.Unmarshal(b, &cur)
	b, _ = json.Marshal(Defaults())
	json.Unmarshal(b, &def)
	var out []string
	for _, k := range slices.Sorted(maps.Keys(cur)) {
		flag := strings.ReplaceAll(k, "_", "-")
		if k == "classes" {
			flag = "class"
		}
		if given[flag] || (flag == "workers" && given["w"]) || fmt.Sprint(cur[k]) == fmt.Sprint(def[k]) {
			continue
		}
		switch v := cur[k].(type) {
		case bool:
			out = append(out, "--"+flag)
		case []any:
			for _, x := range v {
				out = append(out, fmt.Sprintf("--%s %v", flag, x))
			}
		default:
			out = append(out, fmt.Sprintf("--%s %v", flag, v))
		}
	}
	return strings.Join(out, " ")
}
