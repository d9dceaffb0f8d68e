// Package class sorts remote files into classes (photos, documents, email,
// databases, archives, media, other) by extension, turns --priority and
// --only into class ranks and sets, and filters files by path globs and size
// (--include, --exclude, --min-size, --max-size).
//
// # Basics
//
//	set, err := class.NewSet(classOverrides) // --class "NAME=ext,ext"
//	ranks, err := set.Order("photos,email")  // --priority
//	only, err := set.ParseOnly("")           // --only; nil = all classes
//	f := class.Filter{Exclude: []string{"*.tmp"}}
//	err = f.Validate()
//	...
//	c := set.Classify("DCIM/IMG_0001.JPG") // "photos"
//	if ok, why := f.Match(rel, size); !ok { log("skipped", rel, why) }
//
// # The built-in classes
//
// Builtin lists them. Beyond the obvious extensions they hold what a
// responder pulling a dump usually wants early: camera raw formats with the
// photos; SQLite's -wal, -shm and -journal side files (they hold recent and
// deleted rows) and MySQL, SQL Server and KeePass files with the databases;
// Outlook for Mac, Outlook Express and Lotus Notes mail stores with the
// email; split-archive parts (.001, .z01, .r00) and disk or evidence images
// (.iso, .img, .dd, .vmdk, .vhd(x), .dmg, .qcow2, .E01, .Ex01, .aff) with
// the archives. ".raw" (a camera format and a disk image alike), ".log" and
// memory dumps are left in "other".
//
// Extensions may be patterns in path.Match syntax ("[0-9][0-9][0-9]"); a
// literal extension beats a pattern, and a longer extension ("tar.gz") beats
// a shorter one.
package class
