package class

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func mustSet(t *testing.T, overrides ...string) *Set {
	t.Helper()
	s, err := NewSet(overrides)
	if err != nil {
		t.Fatalf("NewSet(%q): %v", overrides, err)
	}
	return s
}

func TestClassify(t *testing.T) {
	s := mustSet(t)
	tests := map[string]string{
		"a.jpg":             "photos",
		"A.JPG":             "photos",
		"IMG_0001.Jpeg":     "photos",
		"DSC_1.NEF":         "photos",
		"x.CR3":             "photos",
		"dir/sub/p.heic":    "photos",
		"report.final.PDF":  "documents",
		"index.html":        "documents",
		"inbox.pst":         "email",
		"mail.MBOX":         "email",
		"app.sqlite":        "databases",
		"app.db-wal":        "databases",
		"backup.bak":        "databases",
		"data.tar.gz":       "archives",
		"data.TAR.GZ":       "archives",
		"dump.sql.gz":       "archives",
		"x.tgz":             "archives",
		"x.7z.001":          "archives",
		"x.zip.001":         "archives",
		"x.002":             "archives",
		"x.999":             "archives",
		"x.part1.rar":       "archives",
		"x.part2.rar":       "archives",
		"x.z01":             "archives",
		"x.Z01":             "archives",
		"x.r00":             "archives",
		"x.Z":               "archives",
		"disk.E01":          "archives",
		"disk.e02":          "archives",
		"disk.iso":          "archives",
		"song.mp3":          "media",
		"clip.MOV":          "media",
		"x.0001":            "other", // four digits is not a split part
		"x.01":              "other",
		"x.z1":              "other",
		"README":            "other",
		"Makefile":          "other",
		".bashrc":           "other",
		".jpg":              "other", // a dotfile named jpg, no extension
		"..jpg":             "other",
		".hidden.jpg":       "photos",
		"dir.jpg/readme":    "other", // only the base name counts
		"trailing.":         "other",
		"":                  "other",
		"...":               "other",
		"x.exe":             "other",
		"x.raw":             "other",
		"weird.jpg\x00.exe": "other",
		"photo.jpg.exe":     "other",
		"fake.exe.jpg":      "photos",
		"multi..jpg":        "photos",
		"utf8.ÉTÉ.jpg":      "photos",
		"space name .docx":  "documents",
	}
	for name, want := range tests {
		if got := s.Classify(name); got != want {
			t.Errorf("Classify(%q) = %q, want %q", name, got, want)
		}
	}
}

func TestBuiltin(t *testing.T) {
	var names []string
	seen := map[string]string{}
	for _, c := range Builtin() {
		names = append(names, c.Name)
		for _, e := range c.Exts {
			if e != strings.ToLower(e) || strings.HasPrefix(e, ".") {
				t.Errorf("%s: extension %q is not lower-case without a dot", c.Name, e)
			}
			if prev, ok := seen[e]; ok {
				t.Errorf("extension %q in both %s and %s", e, prev, c.Name)
			}
			seen[e] = c.Name
		}
	}
	want := []string{"photos", "documents", "email", "databases", "archives", "media", "other"}
	if !reflect.DeepEqual(names, want) {
		t.Errorf("Builtin order %q, want %q", names, want)
	}
	// Builtin returns fresh slices: changing one does not change the next.
	b := Builtin()
	b[0].Exts[0] = "changed"
	if Builtin()[0].Exts[0] != "jpg" {
		t.Error("Builtin shares its slices")
	}
}

func TestOverrides(t *testing.T) {
	s := mustSet(t,
		"photos=jpg,PNG,.gif",          // replace; case and dot normalised
		"evidence=E01,ex01,log,tar.gz", // new class; claims from archives and other
		"Media+=amr2",                  // append
		"docs=",                        // new, empty
		"backups=sql.gz",               // a two-part extension
	)
	var names []string
	for _, c := range s.Classes() {
		names = append(names, c.Name)
	}
	wantNames := []string{"photos", "documents", "email", "databases", "archives", "media", "evidence", "docs", "backups", "other"}
	if !reflect.DeepEqual(names, wantNames) {
		t.Fatalf("classes %q, want %q", names, wantNames)
	}
	if got := s.Classes()[0].Exts; !reflect.DeepEqual(got, []string{"jpg", "png", "gif"}) {
		t.Errorf("photos exts %q", got)
	}
	tests := map[string]string{
		"a.jpg":      "photos",
		"a.heic":     "other", // no longer a photo
		"a.nef":      "other",
		"d.e01":      "evidence", // the literal beats archives' pattern
		"d.e02":      "archives",
		"d.Ex01":     "evidence",
		"sys.log":    "evidence",
		"t.tar.gz":   "evidence",
		"t.gz":       "archives",
		"t.tgz":      "archives",
		"x.amr2":     "media",
		"x.mp3":      "media",
		"db.sql.gz":  "backups",
		"db.sql":     "databases",
		"db.sql.bz2": "archives",
	}
	for name, want := range tests {
		if got := s.Classify(name); got != want {
			t.Errorf("Classify(%q) = %q, want %q", name, got, want)
		}
	}
	for _, c := range s.Classes() {
		if c.Name == "archives" {
			for _, e := range c.Exts {
				if e == "tar.gz" || e == "ex01" {
					t.Errorf("archives still lists %q", e)
				}
			}
		}
	}

	// Later overrides win; a pattern can be claimed as a whole.
	s = mustSet(t, "photos+=png2", "documents=png2,[0-9][0-9][0-9]")
	for name, want := range map[string]string{"a.png2": "documents", "a.001": "documents", "a.z01": "archives"} {
		if got := s.Classify(name); got != want {
			t.Errorf("Classify(%q) = %q, want %q", name, got, want)
		}
	}

	// "other" may claim extensions, and stays last.
	s = mustSet(t, "other=txt", "notes=md")
	if got := s.Classify("a.txt"); got != "other" {
		t.Errorf("Classify(a.txt) = %q", got)
	}
	if cs := s.Classes(); cs[len(cs)-1].Name != "other" || cs[len(cs)-2].Name != "notes" {
		t.Errorf("order %v", cs)
	}

	// Classes returns a copy.
	s.Classes()[0].Exts[0] = "changed"
	if s.Classify("x.changed") != "other" || s.Classify("x.jpg") != "photos" {
		t.Error("Classes shares the set's slices")
	}
}

func TestOverrideErrors(t *testing.T) {
	tests := map[string]string{
		"photos":     `bad class override "photos": want NAME=ext,ext`,
		"=jpg":       `bad class override "=jpg": class name "" is not letters, digits, - and _`,
		"my class=x": `bad class override "my class=x": class name "my class" is not letters, digits, - and _`,
		"-x=y":       `bad class override "-x=y": class name "-x" is not letters, digits, - and _`,
		"été=y":      `bad class override "été=y": class name "été" is not letters, digits, - and _`,
		"a=x/y":      `bad class override "a=x/y": "x/y" is not an extension`,
		"a=tar..gz":  `bad class override "a=tar..gz": "tar..gz" is not an extension`,
		"a=gz.":      `bad class override "a=gz.": "gz." is not an extension`,
		"a=j pg":     `bad class override "a=j pg": "j pg" is not an extension`,
		"a=[0-9":     `bad class override "a=[0-9": "[0-9" is not a valid pattern`,
	}
	for o, want := range tests {
		_, err := NewSet([]string{o})
		if !errors.Is(err, ErrBadOverride) || err.Error() != want {
			t.Errorf("NewSet(%q) = %v\nwant %s", o, err, want)
		}
	}
}

func TestOrder(t *testing.T) {
	s := mustSet(t)
	tests := map[string][]string{
		"":                     {"photos", "documents", "email", "databases", "archives", "media", "other"},
		"databases":            {"databases", "photos", "documents", "email", "archives", "media", "other"},
		"email, Photos":        {"email", "photos", "documents", "databases", "archives", "media", "other"},
		"other,media,,email,":  {"other", "media", "email", "photos", "documents", "databases", "archives"},
		"media,media,archives": {"media", "archives", "photos", "documents", "email", "databases", "other"},
	}
	for prio, want := range tests {
		ranks, err := s.Order(prio)
		if err != nil {
			t.Fatalf("Order(%q): %v", prio, err)
		}
		wantRanks := map[string]int{}
		for i, n := range want {
			wantRanks[n] = i
		}
		if !reflect.DeepEqual(ranks, wantRanks) {
			t.Errorf("Order(%q) = %v, want %v", prio, ranks, wantRanks)
		}
	}

	_, err := s.Order("photos,pictures")
	want := `unknown class "pictures" (valid: photos, documents, email, databases, archives, media, other)`
	if !errors.Is(err, ErrUnknownClass) || err.Error() != want {
		t.Errorf("Order error %v\nwant %s", err, want)
	}
	// New classes are valid names, listed before "other".
	s = mustSet(t, "logs=log")
	ranks, err := s.Order("logs")
	if err != nil || ranks["logs"] != 0 || ranks["photos"] != 1 || ranks["other"] != 7 {
		t.Errorf("Order(logs) = %v, %v", ranks, err)
	}
	_, err = s.Order("nope")
	want = `unknown class "nope" (valid: photos, documents, email, databases, archives, media, logs, other)`
	if err == nil || err.Error() != want {
		t.Errorf("Order error %v\nwant %s", err, want)
	}
}

func TestParseOnly(t *testing.T) {
	s := mustSet(t)
	got, err := s.ParseOnly("Photos, email,photos")
	if err != nil || !reflect.DeepEqual(got, map[string]bool{"photos": true, "email": true}) {
		t.Errorf("ParseOnly = %v, %v", got, err)
	}
	if got, err := s.ParseOnly(" , "); got != nil || err != nil {
		t.Errorf("ParseOnly(empty) = %v, %v", got, err)
	}
	_, err = s.ParseOnly("photos,vids")
	want := `unknown class "vids" (valid: photos, documents, email, databases, archives, media, other)`
	if !errors.Is(err, ErrUnknownClass) || err.Error() != want {
		t.Errorf("ParseOnly error %v", err)
	}
}
