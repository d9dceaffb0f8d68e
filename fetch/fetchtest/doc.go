// Package fetchtest holds the servers fetch's tests run against, and
// nothing a user's run ever touches:
//
//   - a fake HTTP server (New) that serves files the way real servers do,
//     and lies the ways real servers lie: ignoring Range, answering with
//     the wrong Content-Range, cutting bodies short, changing a file
//     between requests, failing with 5xx, 404 or 429;
//   - real web servers on loopback (Nginx with autoindex in HTML, JSON or
//     XML, and Python's http.server). A test that needs a missing binary
//     (Require) is skipped with a clear message, or fails when the
//     environment has CI=true.
package fetchtest
