package main

import (
	"strings"

	"github.com/grab-ir/grab/fetch/job"
)

// listFlag is a repeatable flag.
type listFlag struct{ p *[]string }

func (l listFlag) String() string {
	if l.p == nil {
		return ""
	}
	return strings.Join(*l.p, ",")
}
func (l listFlag) Set(v string) error { *l.p = append(*l.p, v); return nil }

// jobFlags binds a job's command-line flags to s, with the job's defaults.
func jobFlags(s *job.Settings, name string) *flagSet {
	d := job.Defaults()
	fs := newFlagSet(name)
	fs.StringVar(&s.Output, "o", "", "")
	fs.StringVar(&s.Output, "output", "", "")
	fs.Var(listFlag{&s.Inputs}, "i", "")
	fs.Var(listFlag{&s.Inputs}, "input", "")
	fs.BoolVar(&s.Verbose, "v", false, "")
	fs.BoolVar(&s.Verbose, "verbose", false, "")
	fs.BoolVar(&s.DryRun, "dry-run", false, "")
	fs.StringVar(&s.Proxy, "proxy", "", "")
	fs.BoolVar(&s.Tor, "tor", false, "")
	fs.StringVar(&s.TorPath, "tor-path", "", "")
	fs.StringVar(&s.TorConfig, "tor-config", "", "")
	fs.IntVar(&s.TorCount, "tor-instances", d.TorCount, "")
	fs.IntVar(&s.Workers, "w", d.Workers, "")
	fs.IntVar(&s.Workers, "workers", d.Workers, "")
	fs.StringVar(&s.Chunk, "chunk-size", d.Chunk, "")
	fs.IntVar(&s.Streams, "streams", d.Streams, "")
	fs.StringVar(&s.Stall, "stall-timeout", d.Stall, "")
	fs.StringVar(&s.LimitRate, "limit-rate", "", "")
	fs.IntVar(&s.Retries, "retries", d.Retries, "")
	fs.StringVar(&s.Checksums, "checksums", "", "")
	fs.StringVar(&s.Priority, "priority", "", "")
	fs.StringVar(&s.Only, "only", "", "")
	fs.Var(listFlag{&s.Include}, "include", "")
	fs.Var(listFlag{&s.Exclude}, "exclude", "")
	fs.StringVar(&s.MinSize, "min-size", "", "")
	fs.StringVar(&s.MaxSize, "max-size", "", "")
	fs.StringVar(&s.Order, "order", d.Order, "")
	fs.IntVar(&s.Depth, "depth", d.Depth, "")
	fs.Var(listFlag{&s.Classes}, "class", "")
	fs.StringVar(&s.MaxWait, "max-wait", "", "")
	fs.BoolVar(&s.Insecure, "k", false, "")
	fs.BoolVar(&s.Insecure, "insecure", false, "")
	fs.StringVar(&s.CACert, "cacert", "", "")
	fs.StringVar(&s.UserAgent, "A", "", "")
	fs.StringVar(&s.UserAgent, "user-agent", "", "")
	fs.Var(listFlag{&s.Headers}, "H", "")
	fs.Var(listFlag{&s.Headers}, "header", "")
	fs.StringVar(&s.Cookies, "b", "", "")
	fs.StringVar(&s.Cookies, "cookie", "", "")
	fs.BoolVar(&s.MD5, "md5", false, "")
	fs.BoolVar(&s.SHA1, "sha1", false, "")
	fs.StringVar(&s.RsyncPasswordFile, "rsync-password-file", "", "")
	return fs
}
