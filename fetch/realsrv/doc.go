// Package realsrv starts real web servers on loopback for tests: nginx with
// autoindex (HTML, JSON or XML) and Range support, and Python's
// http.server. A test that needs a missing binary is skipped with a clear
// message, or fails when the environment has CI=true.
package realsrv
