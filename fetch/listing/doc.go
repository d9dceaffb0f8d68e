// Package listing turns one web-server directory listing into entries.
//
// # Basics
//
// Parse takes the URL a listing was fetched from (after redirects), the
// response's Content-Type and its body, detects which server produced it and
// returns one Entry per file or sub-directory, in document order:
//
//	entries, format, err := listing.Parse(base, resp.Header.Get("Content-Type"), body)
//
// Recognised formats: nginx autoindex (HTML, JSON, JSONP, XML), Apache
// mod_autoindex (plain list, FancyIndexing <pre> and HTMLTable), lighttpd
// mod_dirlisting, Python's http.server, Caddy's file browser (HTML and JSON)
// and IIS directory browsing. Anything else is read as generic HTML: every
// <a href> becomes an entry, without sizes or times.
//
// The package neither fetches anything nor applies crawl scope: entries that
// point to another host or above the listing are returned, resolved, and the
// crawler decides what to follow.
//
// # Rules
//
//   - Names and URLs always come from the href (or the JSON/XML name), never
//     from the display text, which servers truncate (nginx: "..&gt;").
//   - Entry.URL is absolute (text, as url.URL.String writes it), with query and fragment stripped; a directory's
//     URL path ends in "/". Name is the percent-decoded last path segment
//     without the trailing slash.
//   - Skipped: the listing itself, its parent (href "..", "../", Apache's
//     "Parent Directory", IIS's "[To Parent Directory]", or any href that
//     resolves to the base or its parent directory), sort links (hrefs that
//     are only a query such as "?C=N;O=D"), fragment-only hrefs and schemes
//     other than http and https. Duplicate URLs are returned once, keeping
//     the first position and filling in size and time from later copies.
//   - Sizes: exact integers give Approx false. Rounded forms ("977K", "1.2M",
//     "3.5 GB", "12 KiB") give Approx true and are read with binary units
//     (K = 1024), as nginx, Apache and lighttpd print them. Size is -1 when
//     unknown and always -1 for directories.
//   - Times without a zone (nginx, Apache, lighttpd, IIS) are read as UTC;
//     all ModTimes are returned in UTC. IIS dates are read month first
//     (en-US) unless the first number cannot be a month.
//
// # Caveats
//
// Name may contain any byte, including "/" (from "%2F") and invalid UTF-8:
// sanitise it before using it as a file name. The HTML <base> element is
// ignored. Caddy's grid layout is not parsed; request the default list
// layout or the JSON form. A body with more than MaxEntries entries or an
// href longer than MaxNameLen bytes fails with an error wrapping ErrTooLarge.
package listing
