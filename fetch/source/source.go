package source

import (
	"crypto/tls"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/grab-ir/grab/fetch"
	"github.com/grab-ir/grab/fetch/dial"
	"github.com/grab-ir/grab/fetch/httpsrc"
	"github.com/grab-ir/grab/fetch/rsyncsrc"
)

// Options are what every Source is built from.
type Options struct {
	// Dialers are the ways out: worker i dials through Dialers[i %
	// len(Dialers)] for its whole life (one per tor with --tor-instances).
	Dialers []*dial.Dialer
	Now     func() time.Time
	// TLS configures HTTPS sources (-k, --cacert); nil: the system's
	// authorities.
	TLS *tls.Config
	// Header goes with every HTTP request (User-Agent, -H); Cookies with
	// the requests they match (-b).
	Header  http.Header
	Cookies []httpsrc.Cookie
	// Password returns the password for user on an rsync module ("" for
	// none): --rsync-password-file or RSYNC_PASSWORD.
	Password func(host, module, user string) string
}

// Scheme is one kind of URL.
type Scheme struct {
	Name string
	Port int // the default port
	New  func(Options) fetch.Source
	// User is set when the URL's user name names an account on the
	// server (rsync modules): crawled URLs keep it.
	User bool
}

func newHTTP(o Options) fetch.Source {
	return &httpsrc.Source{Dialers: o.Dialers, Now: o.Now, TLS: o.TLS, Header: o.Header, Cookies: o.Cookies}
}

func newRsync(o Options) fetch.Source {
	return &rsyncsrc.Source{Dialers: o.Dialers, Password: o.Password}
}

// schemes is the registry.
var schemes = []Scheme{
	{Name: "http", Port: 80, New: newHTTP},
	{Name: "https", Port: 443, New: newHTTP},
	{Name: "rsync", Port: 873, New: newRsync, User: true},
}

// Lookup finds a scheme by name (any case).
func Lookup(name string) (Scheme, bool) {
	name = strings.ToLower(name)
	i := slices.IndexFunc(schemes, func(s Scheme) bool { return s.Name == name })
	if i < 0 {
		return Scheme{}, false
	}
	return schemes[i], true
}

// DefaultPort is the default port of a scheme, 0 for an unknown one.
func DefaultPort(name string) int {
	s, _ := Lookup(name)
	return s.Port
}

// Names lists the schemes for messages: "http:// or https://".
func Names() string {
	var names []string
	for _, s := range schemes {
		names = append(names, s.Name+"://")
	}
	if len(names) == 1 {
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// Check refuses a URL grab cannot fetch: an unknown scheme, or no host.
func Check(u *url.URL) error {
	if _, ok := Lookup(u.Scheme); !ok || u.Host == "" {
		return fmt.Errorf("%w: want an %s URL", ErrScheme, Names())
	}
	return nil
}

// New returns the Source for URLs of the given schemes: one scheme's own
// Source, or one that hands each request to its scheme's.
func New(names []string, o Options) (fetch.Source, error) {
	byName := map[string]fetch.Source{}
	made := map[string]fetch.Source{} // sources shared by schemes (http and https)
	for _, n := range names {
		s, ok := Lookup(n)
		if !ok {
			return nil, fmt.Errorf("%w: %s:// (want %s)", ErrScheme, n, Names())
		}
		key := fmt.Sprintf("%p", s.New) // http and https share one constructor, so one Source
		if made[key] == nil {
			made[key] = s.New(o)
		}
		byName[s.Name] = made[key]
	}
	if len(made) == 1 {
		for _, src := range made {
			return src, nil
		}
	}
	return &mux{by: byName}, nil
}
