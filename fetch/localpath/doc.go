// Package localpath turns remote URLs into safe local paths and decides which
// URLs a crawl may visit.
//
// # Basics
//
// A crawl started at a root URL mirrors the root's directory: for the root
// "http://h/dump/" (or the single file "http://h/dump/x.jpg"), the file
// "http://h/dump/a/b.jpg" lands at "a/b.jpg" under the output directory, the
// way rsync copies a source with a trailing slash.
//
// Two steps get there. [Scope.Check] accepts or rejects a URL and returns its
// path below the root as decoded segments. [Mapper.Map] turns those segments
// into a unique, safe, slash-separated relative path:
//
//	scope := localpath.NewScope(root, source.DefaultPort(root.Scheme))
//	m := localpath.NewMapper(0)
//	segs, err := scope.Check(u) // err wraps ErrOtherHost, ErrAboveRoot, ...
//	rel, err := m.Map(segs, false)
//	dst := filepath.Join(out, filepath.FromSlash(rel))
//
// # Scope rules
//
// Same scheme (http or https only), same host (case-insensitive) and port
// (default ports filled in), path below the root's directory; query and
// fragment are ignored. Dot segments are resolved on the escaped path before
// the check, as RFC 3986 section 5.2.4 does. A segment that decodes to "." or
// "..", or that contains "/" or "\" once decoded ("%2e%2e", "..%2f..",
// "%5C"), is rejected rather than interpreted, and so is an empty segment in
// the middle of a path ("a//b"). Host names are compared as written: an IDN
// in Unicode and its punycode form, or "h" and "h.", are different hosts.
//
// # Naming rules
//
// Each decoded segment becomes one local component:
//   - "", "." and ".." are rejected (ErrBadSegment), and so is a segment
//     containing "/", which cannot be one segment;
//   - C0 control characters (0x00-0x1F, NUL included) but tab, DEL (0x7F),
//     C1 controls encoded as UTF-8 (U+0080-U+009F) and "\" become "_": they
//     can drive a terminal (ESC) or end a name early (NUL). A tab is kept:
//     it is harmless in a Linux name, and the tree should come back as it was;
//   - everything else is kept as it is, case included: spaces, "%", "#",
//     "?", "&", quotes, brackets, UTF-8, and bytes that are not valid UTF-8
//     (Linux file names are byte strings);
//   - a name longer than the Mapper's limit (200 bytes by default) becomes
//     "<prefix>~<8 hex digits of SHA-256 of the remote name><.ext>", cut on a
//     character boundary;
//   - when two remote names would land on one local path (a neutralised
//     twin, a file "x" beside a directory "x/", or a name that was already
//     handed out), the later one gets " (2)", " (3)", ... before its
//     extension ("a.jpg", "a (2).jpg", "b (2).tar.gz");
//   - the top-level name ".grab" is grab's state folder and is never handed
//     out: a remote ".grab" becomes ".grab (2)".
//
// A whole local path is limited to MaxPath bytes (ErrPathTooLong) so that
// joined to an output directory it stays below Linux's PATH_MAX.
//
// # Caveats
//
// The Mapper is deterministic but order-dependent: which of two colliding
// names keeps the plain name depends on which was mapped first. A resumed job
// must therefore Restore every path it handed out before mapping new ones.
// Restore trusts its input. The Mapper keeps every key it has seen in memory
// (roughly the remote and local path lengths per file plus map overhead).
// Windows-reserved names (CON, trailing dots) and case-insensitive
// filesystems are not guarded against: grab writes to Linux filesystems.
package localpath
