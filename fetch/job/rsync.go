package job

import (
	"bufio"
	"context"
	"fmt"
	"net/url"
	"os"
	"strings"

	"github.com/grab-ir/grab/fetch/dial"
	"github.com/grab-ir/grab/fetch/rsyncsrc"
)

// rsyncPassword makes the password lookup of rsync modules: the first
// line of --rsync-password-file (as rsync's own --password-file), else
// RSYNC_PASSWORD; nil when neither is set. The password goes to the
// daemon only as a challenge response; it is never saved or logged.
func (s *Settings) rsyncPassword() (func(host, module, user string) string, error) {
	pw := s.RsyncPassword
	if s.RsyncPasswordFile != "" {
		f, err := os.Open(s.RsyncPasswordFile)
		if err != nil {
			return nil, &UsageError{Msg: fmt.Sprintf("--rsync-password-file: %v", err), Hint: "a file whose first line is the module's password"}
		}
		defer f.Close()
		line, err := bufio.NewReader(f).ReadString('\n')
		if err != nil && line == "" {
			return nil, &UsageError{Msg: fmt.Sprintf("--rsync-password-file %s: no password in it", s.RsyncPasswordFile), Hint: "a file whose first line is the module's password"}
		}
		pw = strings.TrimRight(line, "\r\n")
	}
	if pw == "" {
		return nil, nil
	}
	return func(host, module, user string) string { return pw }, nil
}

// Module is one module of an rsync daemon, as `grab ls rsync://HOST/
// --json` gives it.
type Module struct {
	Name    string `json:"name"`
	Comment string `json:"comment,omitempty"`
	URL     string `json:"url"` // rsync://[user@]host/name/, never with a password
}

// Modules lists the modules of the rsync daemon at u (rsync://host/),
// directly or through proxy (a socks5h:// URL, "" for none). Only the
// host's name goes to the proxy.
func Modules(ctx context.Context, proxy string, u *url.URL) ([]Module, error) {
	d, err := dial.New(proxy)
	if err != nil {
		return nil, &UsageError{Msg: err.Error(), Hint: "--proxy socks5h://127.0.0.1:9050"}
	}
	if err := d.Check(u); err != nil {
		return nil, fmt.Errorf("%s: %w", u.Host, err)
	}
	src := &rsyncsrc.Source{Dialer: d}
	mods, err := src.Modules(ctx, u.String())
	if err != nil {
		return nil, err
	}
	out := []Module{}
	for _, m := range mods {
		out = append(out, Module{m.Name, m.Comment, moduleURL(u, m.Name)})
	}
	return out, nil
}

func moduleURL(host *url.URL, name string) string {
	u := url.URL{Scheme: "rsync", Host: host.Host, Path: "/" + name + "/"}
	if host.User != nil {
		u.User = url.User(host.User.Username()) // never a password
	}
	return u.String()
}
