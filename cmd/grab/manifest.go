package main

import (
	"context"
	"fmt"

	"github.com/grab-ir/grab/fetch/job"
	"github.com/grab-ir/grab/fetch/rate"
)

const usageManifest = `usage: grab manifest [-o DIR] [--format sha256sum|hashdeep|csv|json]

Prints the evidence manifest of the job in DIR (default: the current
folder): every completed file with its path relative to DIR, size and
SHA-256 (MD5 and SHA-1 too when the job ran with --md5, --sha1), and in
csv and json the server's own digests, the source URL, its validators
(ETag, Last-Modified), the times of the first and last byte and of
completion, and grab's version. It is kept current as files finish
(DIR/.grab/manifest.jsonl), so it works while the job runs.

  sha256sum   cd DIR && sha256sum -c FILE checks it (the default)
  hashdeep    cd DIR && hashdeep -a -k FILE -l -r <the files> audits it
  csv, json   every field (docs/manifest.md)

examples:
  grab manifest -o case42 > case42.sha256 && (cd case42 && sha256sum -c ../case42.sha256)
  grab manifest -o case42 --format hashdeep > case42.hashdeep
  grab manifest -o case42 --format csv > case42.csv
`

func runManifest(ui *ui, args []string) error {
	fs := newFlagSet("grab manifest")
	out := fs.dir()
	format := fs.String("format", job.FormatSHA256Sum, "")
	if err := fs.parseNone(args, usageManifest, "grab manifest -o DIR"); err != nil {
		return err
	}
	entries, err := job.Manifest(*out)
	if err != nil {
		return err
	}
	return job.WriteManifest(ui.stdout, entries, *format)
}

const usageVerify = `usage: grab verify [-o DIR]

Re-hashes the tree in DIR (default: the current folder) against the job's
state and its manifest, without the network: every finished file must be
there with its recorded size and SHA-256 (and the manifest's MD5, SHA-1),
and nothing else may be (DIR/.grab aside). Prints every mismatched,
missing and extra file and exits 3 if there is any. The job must not be
running.

examples:
  grab verify -o case42
`

func runVerify(ctx context.Context, ui *ui, args []string) error {
	fs := newFlagSet("grab verify")
	out := fs.dir()
	if err := fs.parseNone(args, usageVerify, "grab verify -o DIR"); err != nil {
		return err
	}
	a, err := job.Verify(ctx, *out, nil)
	if err != nil {
		return err
	}
	for _, m := range a.Mismatched {
		fmt.Fprintf(ui.stdout, "mismatched: %s\n", job.Clean(m))
	}
	for _, m := range a.Missing {
		fmt.Fprintf(ui.stdout, "missing: %s\n", job.Clean(m))
	}
	for _, m := range a.Extra {
		fmt.Fprintf(ui.stdout, "extra: %s\n", job.Clean(m))
	}
	fmt.Fprintf(ui.stdout, "%d files checked (%s): %d ok, %d mismatched, %d missing, %d extra\n",
		a.Checked, rate.Bytes(a.Bytes), a.OK, len(a.Mismatched), len(a.Missing), len(a.Extra))
	return a.Err(*out)
}
