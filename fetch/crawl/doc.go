// Package crawl turns start URLs and directory listings into the engine's
// work: it is the engine's Config.Expand.
//
// A start URL ending in "/" is a listing; any other is a file, which lands
// at its base name. A listing's entries are resolved, checked against the
// crawl's scope (same scheme, host and port as the start URL, never above
// it: localpath.Scope), given a canonical URL so that each file and folder
// is seen once, classified, filtered, and mapped to a safe local path below
// the output folder. Folders deeper than MaxDepth are not entered. Every
// entry left out is logged with its reason.
package crawl
