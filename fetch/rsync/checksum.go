package rsync

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/binary"
	"fmt"
	"hash"

	"github.com/zeebo/xxh3"
	"golang.org/x/crypto/md4"
)

// Checksum names as the daemon negotiates them. MD4Seeded is the
// transfer checksum of protocols before 30: MD4 over the session seed
// (4 bytes, little-endian) followed by the data.
const (
	XXH128    = "xxh128"
	XXH3      = "xxh3"
	MD5       = "md5"
	MD4       = "md4"
	SHA1      = "sha1"
	MD4Seeded = "md4-seeded"
)

// defaultChecksums is the list offered to daemons that negotiate, best
// first.
var defaultChecksums = []string{XXH128, MD5}

// knownChecksum reports whether this client can compute a transfer
// checksum of that name.
func knownChecksum(name string) bool {
	switch name {
	case XXH128, XXH3, MD5, MD4, SHA1:
		return true
	}
	return false
}

// xxh128Hash is XXH3-128 with rsync's byte order: the low 64 bits then the
// high 64 bits, each little-endian.
type xxh128Hash struct{ *xxh3.Hasher128 }

func (h xxh128Hash) Sum(b []byte) []byte {
	s := h.Sum128()
	b = binary.LittleEndian.AppendUint64(b, s.Lo)
	return binary.LittleEndian.AppendUint64(b, s.Hi)
}
func (h xxh128Hash) Size() int { return 16 }

// xxh64Hash is XXH3-64, little-endian.
type xxh64Hash struct{ *xxh3.Hasher }

func (h xxh64Hash) Sum(b []byte) []byte { return binary.LittleEndian.AppendUint64(b, h.Sum64()) }

// NewFileHash returns the hash a daemon computes over a file it sends with
// the checksum algo of a session; seed is the session's seed (Session.Seed),
// used only by MD4Seeded. Use it to check a Checksum against local data.
func NewFileHash(algo string, seed int32) (hash.Hash, error) {
	switch algo {
	case XXH128:
		return xxh128Hash{xxh3.New128()}, nil
	case XXH3:
		return xxh64Hash{xxh3.New()}, nil
	case MD5:
		return md5.New(), nil
	case MD4:
		return md4.New(), nil
	case SHA1:
		return sha1.New(), nil
	case MD4Seeded:
		h := md4.New()
		var s [4]byte
		binary.LittleEndian.PutUint32(s[:], uint32(seed))
		h.Write(s[:])
		return h, nil
	}
	return nil, fmt.Errorf("%w: %q", ErrNoChecksum, algo)
}

func sumLen(algo string) int {
	switch algo {
	case XXH3:
		return 8
	case SHA1:
		return 20
	}
	return 16
}

// sum1 is rsync's rolling checksum of a block: bytes taken as signed, s1
// their sum, s2 the sum of the running s1 values, packed as s1 low, s2 high.
func sum1(p []byte) uint32 {
	var s1, s2 uint32
	for _, c := range p {
		s1 += uint32(int32(int8(c)))
		s2 += s1
	}
	return s1&0xFFFF | s2<<16
}

// sum2 is the strong checksum of one block, as the daemon computes it to
// match the client's: seeded MD4 of block then seed before protocol 30;
// with the seed-order fix, the seed comes first for MD5; the xxh hashes
// take the seed as their own seed.
func sum2(algo string, seed int32, p []byte) []byte {
	var s [4]byte
	binary.LittleEndian.PutUint32(s[:], uint32(seed))
	switch algo {
	case XXH128:
		v := xxh3.Hash128Seed(p, uint64(int64(seed)))
		b := binary.LittleEndian.AppendUint64(nil, v.Lo)
		return binary.LittleEndian.AppendUint64(b, v.Hi)
	case XXH3:
		return binary.LittleEndian.AppendUint64(nil, xxh3.HashSeed(p, uint64(int64(seed))))
	case MD5:
		h := md5.New()
		if seed != 0 {
			h.Write(s[:])
		}
		h.Write(p)
		return h.Sum(nil)
	case SHA1:
		h := sha1.New()
		if seed != 0 {
			h.Write(s[:])
		}
		h.Write(p)
		return h.Sum(nil)
	default: // MD4 and MD4Seeded: block then seed
		h := md4.New()
		h.Write(p)
		if seed != 0 {
			h.Write(s[:])
		}
		return h.Sum(nil)
	}
}

// authHash computes the response to an auth challenge with the named
// digest; "md4-old" is the pre-30 form with four zero bytes first.
func authHash(name, password, challenge string) ([]byte, error) {
	var h hash.Hash
	switch name {
	case "md4-old":
		h = md4.New()
		h.Write(make([]byte, 4))
	case "md4":
		h = md4.New()
	case "md5":
		h = md5.New()
	case "sha1":
		h = sha1.New()
	case "sha256":
		h = sha256.New()
	case "sha512":
		h = sha512.New()
	default:
		return nil, fmt.Errorf("%w: auth digest %q", ErrAuthFailed, name)
	}
	h.Write([]byte(password))
	h.Write([]byte(challenge))
	return h.Sum(nil), nil
}
