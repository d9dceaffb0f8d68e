package main

import (
	"flag"
	"io"

	"github.com/grab-ir/grab/fetch/job"
)

// parseInterspersed parses flags that may come before, between or after
// positional arguments, as GNU tools allow (users paste the URL first).
// Everything after "--" is positional.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos, rest []string
	for i, a := range args {
		if a == "--" {
			args, rest = args[:i], args[i+1:]
			break
		}
	}
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
	return append(pos, rest...), nil
}

// newFlagSet makes a flag set that reports errors to the caller, not to
// stderr, with usage text for -h.
func newFlagSet(name string) *flagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return &flagSet{fs}
}

// setFlags lists the flags given on the command line, by name.
func setFlags(fs *flag.FlagSet) map[string]bool {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	return set
}

// flagError turns the flag package's error into a usage error.
func flagError(err error, usage string) error {
	if err == flag.ErrHelp {
		return helpRequest(usage)
	}
	return &job.UsageError{Msg: err.Error(), Hint: "grab help"}
}

// helpRequest is -h or --help: the usage goes to stdout and grab exits 0.
type helpRequest string

func (h helpRequest) Error() string { return string(h) }

// flagSet is a flag.FlagSet that parses GNU style and remembers what was given.
type flagSet struct{ *flag.FlagSet }

func (f *flagSet) parse(args []string, usage string) ([]string, error) {
	pos, err := parseInterspersed(f.FlagSet, args)
	if err != nil {
		return nil, flagError(err, usage)
	}
	return pos, nil
}

// parseNone parses a subcommand that takes flags only; hint is its short
// usage, for a URL given all the same.
func (f *flagSet) parseNone(args []string, usage, hint string) error {
	pos, err := f.parse(args, usage)
	if err == nil && len(pos) > 0 {
		err = &job.UsageError{Msg: f.Name() + " takes no URL", Hint: hint}
	}
	return err
}

// dir binds -o/--output for a subcommand that reads a job's folder.
func (f *flagSet) dir() *string {
	out := f.String("o", ".", "")
	f.StringVar(out, "output", ".", "")
	return out
}

func (f *flagSet) given() map[string]bool { return setFlags(f.FlagSet) }
