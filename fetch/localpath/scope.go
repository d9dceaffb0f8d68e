package localpath

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// Scope decides which URLs a crawl started at a root URL may visit. The zero
// Scope accepts nothing; build one with NewScope.
type Scope struct {
	scheme  string   // lower-case
	defPort int      // the scheme's default port
	host    string   // lower-case host name, without brackets or port
	port    int      // explicit port or the scheme's default
	dir     []string // decoded segments of the root's directory
	dirRaw  string   // the root's directory as an escaped path, for messages
	user    string   // user name kept in URLs (see WithUser)
}

// WithUser returns the scope with a user name that URL writes into every
// address (user@host), for sources whose user names an account (rsync
// modules). Never a password.
func (s Scope) WithUser(user string) Scope {
	s.user = user
	return s
}

// NewScope returns the scope of a crawl started at root, whose scheme's
// default port is defaultPort (fetch/source knows them). The root's
// directory is its path up to and including the last "/": "http://h/dump/"
// and "http://h/dump/x.jpg" both give "/dump/".
func NewScope(root *url.URL, defaultPort int) Scope {
	s := Scope{
		scheme:  strings.ToLower(root.Scheme),
		defPort: defaultPort,
		host:    strings.ToLower(root.Hostname()),
	}
	s.port = s.portOf(root)
	segs := splitPath(removeDots(root.EscapedPath()))
	segs = segs[:len(segs)-1] // the last one is a file name or "" after a trailing slash
	s.dir = make([]string, len(segs))
	for i, raw := range segs {
		dec, err := url.PathUnescape(raw)
		if err != nil {
			dec = raw // cannot happen for a URL from url.Parse; compare raw
		}
		s.dir[i] = dec
	}
	s.dirRaw = "/" + strings.Join(segs, "/")
	if len(segs) > 0 {
		s.dirRaw += "/"
	}
	return s
}

// Check returns u's path relative to the scope's root directory as decoded
// segments, or an error wrapping ErrOtherScheme, ErrOtherHost, ErrAboveRoot or
// ErrBadSegment that says why u is out of scope. A URL ending in "/" (a
// directory) gives the segments of that directory; the root directory itself
// gives no segments and no error, but the root directory named without its
// trailing slash ("http://h/dump" for "http://h/dump/") is above the root.
func (s Scope) Check(u *url.URL) ([]string, error) {
	if u == nil {
		return nil, fmt.Errorf("%w: no URL", ErrOtherScheme)
	}
	scheme := strings.ToLower(u.Scheme)
	switch {
	case scheme == "":
		return nil, fmt.Errorf("%w: relative URL %q was not resolved", ErrOtherScheme, u.String())
	case scheme != s.scheme:
		return nil, fmt.Errorf("%w: %s, the crawl is on %s", ErrOtherScheme, scheme, s.scheme)
	}
	if u.Opaque != "" || u.Host == "" {
		return nil, fmt.Errorf("%w: %q has no host", ErrOtherHost, u.String())
	}
	host, port := strings.ToLower(u.Hostname()), s.portOf(u)
	if host != s.host || port != s.port {
		return nil, fmt.Errorf("%w: %s, the crawl is on %s", ErrOtherHost,
			joinHostPort(host, port), joinHostPort(s.host, s.port))
	}

	resolved := removeDots(u.EscapedPath())
	segs := splitPath(resolved)
	isDir := segs[len(segs)-1] == ""
	if isDir {
		segs = segs[:len(segs)-1]
	}
	if len(segs) < len(s.dir) || !isDir && len(segs) == len(s.dir) {
		return nil, fmt.Errorf("%w: %s is not below %s", ErrAboveRoot, resolved, s.dirRaw)
	}
	for i, want := range s.dir {
		if dec, err := url.PathUnescape(segs[i]); err != nil || dec != want {
			return nil, fmt.Errorf("%w: %s is not below %s", ErrAboveRoot, resolved, s.dirRaw)
		}
	}
	rel := segs[len(s.dir):]
	out := make([]string, len(rel))
	for i, raw := range rel {
		dec, err := checkSegment(raw)
		if err != nil {
			return nil, fmt.Errorf("%w in %s", err, resolved)
		}
		out[i] = dec
	}
	return out, nil
}

// checkSegment decodes one escaped segment and rejects the unsafe ones.
func checkSegment(raw string) (string, error) {
	if raw == "" {
		return "", fmt.Errorf("%w: empty segment", ErrBadSegment)
	}
	dec, err := url.PathUnescape(raw)
	switch {
	case err != nil:
		return "", fmt.Errorf("%w %q: bad escape", ErrBadSegment, raw)
	case dec == "." || dec == "..":
		return "", fmt.Errorf("%w %q: decodes to %q", ErrBadSegment, raw, dec)
	case strings.Contains(dec, "/"):
		return "", fmt.Errorf("%w %q: decodes to a name with a slash", ErrBadSegment, raw)
	case dotsBehindBackslash(dec):
		// A backslash is a byte of a name on Linux (a Windows path
		// unpacked as one name, which the mapper names with "_"), but a
		// separator to a Windows server: there "..\" leaves the folder.
		return "", fmt.Errorf("%w %q: decodes to a name with a dot segment between backslashes", ErrBadSegment, raw)
	}
	return dec, nil
}

// dotsBehindBackslash reports whether a name with a backslash has "." or
// ".." as one of its backslash-separated parts.
func dotsBehindBackslash(name string) bool {
	if !strings.Contains(name, `\`) {
		return false
	}
	for _, part := range strings.Split(name, `\`) {
		if part == "." || part == ".." {
			return true
		}
	}
	return false
}

// removeDots resolves the literal "." and ".." segments of an escaped
// absolute path (RFC 3986 section 5.2.4); ".." at the top stays at the top.
// Escaped dots such as "%2e%2e" are left alone for checkSegment to reject. The
// result starts with "/".
func removeDots(p string) string {
	if p == "" {
		return "/"
	}
	in := strings.Split(strings.TrimPrefix(p, "/"), "/")
	out := make([]string, 0, len(in))
	for i, seg := range in {
		last := i == len(in)-1
		switch seg {
		case ".":
			if last {
				out = append(out, "")
			}
		case "..":
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
			if last {
				out = append(out, "")
			}
		default:
			out = append(out, seg)
		}
	}
	return "/" + strings.Join(out, "/")
}

// splitPath splits an absolute path into its segments; "/" gives [""] and a
// trailing slash gives a final "". The result is never empty.
func splitPath(p string) []string {
	return strings.Split(strings.TrimPrefix(p, "/"), "/")
}

// portOf returns u's port, or the default port of the scope's scheme
// (Check compares ports only of URLs in that scheme).
func (s Scope) portOf(u *url.URL) int {
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err == nil {
			return n
		}
		return -1 // not a number: never equal to a valid port
	}
	return s.defPort
}

func joinHostPort(host string, port int) string {
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	return host + ":" + strconv.Itoa(port)
}

// URL is the canonical address of the entry at segments below the scope's
// root directory (a directory when dir is set): every segment escaped the
// same way, whatever form the listing used, so that one remote file has one
// URL.
func (s Scope) URL(segments []string, dir bool) string {
	var b strings.Builder
	host := joinHostPort(s.host, s.port)
	if s.port == s.defPort {
		host = strings.TrimSuffix(host, ":"+strconv.Itoa(s.port))
	}
	if s.user != "" {
		host = url.User(s.user).String() + "@" + host
	}
	b.WriteString(s.scheme + "://" + host + "/")
	for _, seg := range append(slices.Clone(s.dir), segments...) {
		b.WriteString(url.PathEscape(seg))
		b.WriteString("/")
	}
	out := b.String()
	if !dir && len(segments) > 0 {
		out = strings.TrimSuffix(out, "/")
	}
	return out
}
