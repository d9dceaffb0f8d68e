package demo

import (
	"fmt"
	"math/rand/v2"
	"time"
)

// BreachSpec sizes the tree BreachDump generates. Counts below zero count as
// zero; a Max below its Min counts as the Min. Sizes are drawn uniformly in
// [Min, Max] from the seeded generator.
type BreachSpec struct {
	Archives    int   // files in archives/, each exactly ArchiveSize bytes
	ArchiveSize int64 //
	Photos      int   // files in photos/travellers/ and photos/plates/
	PhotoMin    int64 //
	PhotoMax    int64 //
	Docs        int   // files in documents/
	DocMin      int64 //
	DocMax      int64 //
	Mail        int   // files in mail/ (.pst and .eml)
	MailMin     int64 //
	MailMax     int64 //
	DB          int   // files in db/ (.sql and .bak)
	DBMin       int64 //
	DBMax       int64 //
}

// DefaultBreachSpec is the dump of `grab demo`: about 45 MB in 146 files,
// which the real engine fetches in roughly 30-60 s under DefaultModel.
func DefaultBreachSpec() BreachSpec {
	return BreachSpec{
		Archives: 2, ArchiveSize: 12 << 20,
		Photos: 120, PhotoMin: 20e3, PhotoMax: 150e3,
		Docs: 20, DocMin: 50e3, DocMax: 500e3,
		Mail: 2, MailMin: 200e3, MailMax: 2e6,
		DB: 2, DBMin: 200e3, DBMax: 2e6,
	}
}

// archiveNames are used in order for the first archives; later ones are
// numbered.
var archiveNames = []string{
	"backup-2023-01.zip", "mail-archive.7z", "db_dump.tar.gz",
	"backup-2023-02.zip", "fileserver-share.7z", "crm_export.tar.gz",
}

// specialDocs are the first documents' names. They exercise what crawlers get
// wrong: a space, an ampersand and non-ASCII letters (percent-escaped in
// hrefs, HTML-escaped in text) and a name longer than nginx's 50 columns
// (truncated in the listing text, whole in the href).
var specialDocs = []string{
	"Passport scans 2023.pdf",
	"Übersicht Kunden & Verträge.xlsx",
	"Quarterly_financial_statement_consolidated_FY2023_final_v3.pdf",
}

// BreachDump returns a breach-like dump generated from seed: archives/,
// photos/travellers/, photos/plates/, documents/, mail/ and db/. The same
// seed and spec give the same names, sizes, times and content.
func BreachDump(seed int64, spec BreachSpec) *Dump {
	rng := rand.New(rand.NewPCG(uint64(seed), 0x6772616264656d6f)) // "grabdemo"
	base := time.Date(2023, time.January, 2, 8, 0, 0, 0, time.UTC)
	when := func() time.Time {
		return base.Add(time.Duration(rng.Int64N(int64(365*24*time.Hour/time.Second))) * time.Second)
	}
	size := func(lo, hi int64) int64 {
		lo = max(lo, 0)
		if hi <= lo {
			return lo
		}
		return lo + rng.Int64N(hi-lo+1)
	}
	var files []File
	add := func(p string, n int64) { files = append(files, File{Path: p, Size: n, ModTime: when()}) }

	for i := range max(spec.Archives, 0) {
		name := fmt.Sprintf("archive-%03d.zip", i+1)
		if i < len(archiveNames) {
			name = archiveNames[i]
		}
		add("archives/"+name, max(spec.ArchiveSize, 0))
	}
	for i := range max(spec.Photos, 0) {
		n := i + 1
		var p string
		switch {
		case i%5 < 3 && i%4 == 3:
			p = fmt.Sprintf("photos/travellers/DSC%05d.jpg", n)
		case i%5 < 3:
			p = fmt.Sprintf("photos/travellers/IMG_%04d.JPG", n)
		case i%3 == 0:
			p = fmt.Sprintf("photos/plates/plate_%04d.TIF", n)
		default:
			p = fmt.Sprintf("photos/plates/IMG_%04d.JPG", n)
		}
		add(p, size(spec.PhotoMin, spec.PhotoMax))
	}
	for i := range max(spec.Docs, 0) {
		var p string
		switch {
		case i < len(specialDocs):
			p = specialDocs[i]
		case i%3 == 0:
			p = fmt.Sprintf("invoice_%04d.pdf", i+1)
		case i%3 == 1:
			p = fmt.Sprintf("contract_%04d.docx", i+1)
		default:
			p = fmt.Sprintf("payroll_%04d.xlsx", i+1)
		}
		add("documents/"+p, size(spec.DocMin, spec.DocMax))
	}
	for i := range max(spec.Mail, 0) {
		p := fmt.Sprintf("mail/export_%02d.pst", i/2+1)
		if i%2 == 1 {
			p = fmt.Sprintf("mail/msg_%04d.eml", i/2+1)
		}
		add(p, size(spec.MailMin, spec.MailMax))
	}
	for i := range max(spec.DB, 0) {
		p := fmt.Sprintf("db/customers_%02d.sql", i/2+1)
		if i%2 == 1 {
			p = fmt.Sprintf("db/backup_%02d.bak", i/2+1)
		}
		add(p, size(spec.DBMin, spec.DBMax))
	}
	return NewDump(seed, files)
}

// SingleFile returns a dump of one file of the given size at path p. It
// panics like NewDump if p is not a valid path or size is negative.
func SingleFile(seed int64, p string, size int64) *Dump {
	return NewDump(seed, []File{{Path: p, Size: size}})
}
