package digest

import (
	"bufio"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"path"
	"slices"
	"sort"
	"strings"
)

// Algorithm names used as keys of a Set.
const (
	MD5    = "md5"
	SHA1   = "sha1"
	SHA256 = "sha256"
	SHA512 = "sha512"
)

func newHash(alg string) hash.Hash {
	switch alg {
	case MD5:
		return md5.New()
	case SHA1:
		return sha1.New()
	case SHA256:
		return sha256.New()
	case SHA512:
		return sha512.New()
	case XXH128:
		return newXXH128()
	}
	return newSeededMD4(alg)
}

// algByLen names the algorithm of a hex digest by its length.
func algByLen(n int) string {
	switch n {
	case 32:
		return MD5
	case 40:
		return SHA1
	case 64:
		return SHA256
	case 128:
		return SHA512
	}
	return ""
}

// Set maps algorithm names to expected lower-case hex digests.
type Set map[string]string

// Merge adds the digests of o that s lacks.
func (s Set) Merge(o Set) {
	for k, v := range o {
		if _, ok := s[k]; !ok {
			s[k] = v
		}
	}
}

// Hasher computes SHA-256 and every other algorithm named in a Set.
type Hasher struct {
	algs []string
	hs   []hash.Hash
	w    io.Writer
}

// NewHasher returns a Hasher for SHA-256 plus the algorithms of want and
// the extra ones named (unknown names are ignored).
func NewHasher(want Set, extra ...string) *Hasher {
	h := &Hasher{algs: []string{SHA256}}
	for alg := range want {
		extra = append(extra, alg)
	}
	for _, alg := range extra {
		if alg != SHA256 && newHash(alg) != nil && !slices.Contains(h.algs, alg) {
			h.algs = append(h.algs, alg)
		}
	}
	sort.Strings(h.algs[1:])
	ws := make([]io.Writer, len(h.algs))
	for i, alg := range h.algs {
		h.hs = append(h.hs, newHash(alg))
		ws[i] = h.hs[i]
	}
	h.w = io.MultiWriter(ws...)
	return h
}

func (h *Hasher) Write(p []byte) (int, error) { return h.w.Write(p) }

// Sum returns the hex digests computed so far.
func (h *Hasher) Sum() Set {
	s := Set{}
	for i, alg := range h.algs {
		s[alg] = hex.EncodeToString(h.hs[i].Sum(nil))
	}
	return s
}

// Check compares computed digests with expected ones: every expected
// algorithm grab can compute must have been computed, and agree; one it
// cannot compute (an rsync MD4 seeded per session) is left to its source.
func Check(expected, got Set) error {
	algs := make([]string, 0, len(expected))
	for alg := range expected {
		algs = append(algs, alg)
	}
	sort.Strings(algs)
	for _, alg := range algs {
		g, ok := got[alg]
		switch {
		case ok && g != expected[alg]:
			return fmt.Errorf("%w: %s is %s, expected %s", ErrMismatch, alg, g, expected[alg])
		case !ok && newHash(alg) != nil:
			// An expected digest grab can compute but did not is not a
			// match: fail safe, never pass a file unchecked.
			return fmt.Errorf("%w: %s expected, and not computed", ErrMismatch, alg)
		}
	}
	return nil
}

// Checksums holds the entries of one or more checksum files.
type Checksums struct {
	byPath map[string]Set
	byBase map[string][]string // base name → paths
}

// ParseChecksums reads a checksum file. Accepted lines:
//
//	HEX  NAME      (sha256sum, md5sum, ... text mode)
//	HEX *NAME      (binary mode)
//	ALG (NAME) = HEX   (BSD style, --tag)
//
// Blank lines and lines starting with '#' are skipped. The algorithm of the
// first two forms follows from the digest's length.
func ParseChecksums(r io.Reader) (*Checksums, error) {
	c := &Checksums{byPath: map[string]Set{}, byBase: map[string][]string{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		alg, name, sum, ok := parseLine(line)
		if !ok {
			return nil, fmt.Errorf("%w %d: %.60q", ErrChecksumLine, n, line)
		}
		c.add(name, alg, sum)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading checksums: %w", err)
	}
	return c, nil
}

func parseLine(line string) (alg, name, sum string, ok bool) {
	if i := strings.Index(line, " ("); i > 0 {
		if j := strings.LastIndex(line, ") = "); j > i {
			alg = strings.ToLower(strings.ReplaceAll(line[:i], "-", ""))
			sum = strings.ToLower(line[j+4:])
			name = line[i+2 : j]
			if newHash(alg) != nil && isHex(sum) && algByLen(len(sum)) == alg {
				return alg, name, sum, true
			}
		}
	}
	sum, name, found := strings.Cut(line, " ")
	if !found || !isHex(sum) || algByLen(len(sum)) == "" {
		return "", "", "", false
	}
	if strings.HasPrefix(name, " ") || strings.HasPrefix(name, "*") {
		name = name[1:]
	}
	if name == "" {
		return "", "", "", false
	}
	return algByLen(len(sum)), name, strings.ToLower(sum), true
}

func isHex(s string) bool {
	_, err := hex.DecodeString(s)
	return err == nil && s != ""
}

func (c *Checksums) add(name, alg, sum string) {
	name = strings.TrimPrefix(path.Clean("/"+strings.ReplaceAll(name, `\`, "/")), "/")
	s, ok := c.byPath[name]
	if !ok {
		s = Set{}
		c.byPath[name] = s
		base := path.Base(name)
		c.byBase[base] = append(c.byBase[base], name)
	}
	s[alg] = sum
}

// Len is the number of files listed.
func (c *Checksums) Len() int { return len(c.byPath) }

// Lookup finds the digests for a file by its relative slash path, or else
// by its base name when exactly one listed file has that name.
func (c *Checksums) Lookup(rel string) Set {
	if c == nil {
		return nil
	}
	if s, ok := c.byPath[rel]; ok {
		return s
	}
	if paths := c.byBase[path.Base(rel)]; len(paths) == 1 {
		return c.byPath[paths[0]]
	}
	return nil
}

// FromHeaders extracts the digests of the whole representation from an RFC
// 9530 Repr-Digest header ("sha-256=:BASE64:, sha-512=:BASE64:") or an RFC
// 3230 Digest header ("SHA-256=BASE64"). Content-Digest is not used: for a
// range response it covers only the part sent. Unknown or malformed members
// are ignored.
func FromHeaders(reprDigest, legacy []string) Set {
	s := Set{}
	for _, v := range reprDigest {
		for _, m := range strings.Split(v, ",") {
			k, val, ok := strings.Cut(strings.TrimSpace(m), "=")
			if !ok || len(val) < 2 || val[0] != ':' || val[len(val)-1] != ':' {
				continue
			}
			addB64(s, k, val[1:len(val)-1])
		}
	}
	for _, v := range legacy {
		for _, m := range strings.Split(v, ",") {
			k, val, ok := strings.Cut(strings.TrimSpace(m), "=")
			if ok {
				addB64(s, k, val)
			}
		}
	}
	return s
}

func addB64(s Set, name, b64 string) {
	alg := strings.ToLower(strings.ReplaceAll(strings.TrimSpace(name), "-", ""))
	if newHash(alg) == nil {
		return
	}
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(raw)*2 != len(hex.EncodeToString(newHash(alg).Sum(nil))) {
		return
	}
	if _, ok := s[alg]; !ok {
		s[alg] = hex.EncodeToString(raw)
	}
}
