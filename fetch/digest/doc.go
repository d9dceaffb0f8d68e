// Package digest knows the digests a file may be checked against: lines of
// checksum files (sha256sum/md5sum output, "*" binary markers, and the BSD
// "SHA256 (name) = hex" form), the RFC 9530 Repr-Digest header and the older
// RFC 3230 Digest header. A Set holds the expected digests of one file and
// Hasher computes every algorithm a Set needs in a single pass.
package digest
