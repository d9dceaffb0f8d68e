package httpsrc

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Cookie is one line of a Netscape cookies.txt, as Tor Browser's and
// Firefox's export add-ons, curl -c and wget --save-cookies write it.
type Cookie struct {
	Domain     string // without a leading dot
	Subdomains bool   // the domain's subdomains get it too
	Path       string
	Secure     bool      // HTTPS only
	Expires    time.Time // zero: a session cookie, sent until grab exits
	Name       string
	Value      string
}

// ParseCookies reads a cookies.txt: tab-separated domain, include
// subdomains, path, secure, expiry (Unix seconds, 0 for a session cookie),
// name and value; # comments, except curl's "#HttpOnly_" prefix, and blank
// lines are skipped. Errors name the line, never a value.
func ParseCookies(r io.Reader) ([]Cookie, error) {
	var out []Cookie
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimRight(sc.Text(), "\r")
		line = strings.TrimPrefix(line, "#HttpOnly_")
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) != 7 {
			return nil, fmt.Errorf("cookies line %d: %d tab-separated fields, want 7 (domain, subdomains, path, secure, expiry, name, value)", n, len(f))
		}
		exp, err := strconv.ParseInt(f[4], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("cookies line %d: expiry %q is not a number", n, f[4])
		}
		c := Cookie{Domain: strings.ToLower(strings.TrimPrefix(f[0], ".")), Subdomains: strings.EqualFold(f[1], "TRUE"),
			Path: f[2], Secure: strings.EqualFold(f[3], "TRUE"), Name: f[5], Value: f[6]}
		if exp > 0 {
			c.Expires = time.Unix(exp, 0)
		}
		if c.Path == "" {
			c.Path = "/"
		}
		out = append(out, c)
	}
	return out, sc.Err()
}

// matches reports whether c goes with a request to u at now.
func (c Cookie) matches(u *url.URL, now time.Time) bool {
	host := strings.ToLower(strings.TrimSuffix(u.Hostname(), "."))
	switch {
	case !c.Expires.IsZero() && !now.Before(c.Expires):
		return false
	case c.Secure && u.Scheme != "https":
		return false
	case host != c.Domain && !(c.Subdomains && strings.HasSuffix(host, "."+c.Domain)):
		return false
	}
	p := u.EscapedPath()
	if p == "" {
		p = "/"
	}
	return p == c.Path || strings.HasPrefix(p, strings.TrimSuffix(c.Path, "/")+"/")
}

// addCookies puts the cookies that go with req on it.
func addCookies(req *http.Request, cookies []Cookie, now time.Time) {
	for _, c := range cookies {
		if c.matches(req.URL, now) {
			req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
		}
	}
}
