// Package source is the registry of the kinds of URL grab fetches: each
// scheme's default port and the Source that serves it. Adding a scheme
// means adding its package and one line to schemes.
package source
