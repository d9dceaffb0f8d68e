package digest

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"golang.org/x/crypto/md4"
)

func TestParseChecksums(t *testing.T) {
	sha := hex.EncodeToString(sha256.New().Sum(nil))
	md := hex.EncodeToString(md5.New().Sum(nil))
	in := "# comment\n" +
		sha + "  photos/a.jpg\n" +
		strings.ToUpper(md) + " *./docs/b.pdf\r\n" +
		"SHA256 (c d.zip) = " + sha + "\n\n"
	c, err := ParseChecksums(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if c.Len() != 3 {
		t.Fatalf("Len = %d", c.Len())
	}
	if got := c.Lookup("photos/a.jpg"); got[SHA256] != sha {
		t.Errorf("photos/a.jpg: %v", got)
	}
	if got := c.Lookup("docs/b.pdf"); got[MD5] != md {
		t.Errorf("docs/b.pdf: %v", got)
	}
	if got := c.Lookup("elsewhere/c d.zip"); got[SHA256] != sha {
		t.Errorf("lookup by base name: %v", got)
	}
	if got := c.Lookup("nothing"); got != nil {
		t.Errorf("unknown file: %v", got)
	}
	_, err = ParseChecksums(strings.NewReader("abc  file\n"))
	if !errors.Is(err, ErrChecksumLine) || err.Error() != `unreadable checksum line 1: "abc  file"` {
		t.Errorf("bad line error: %v", err)
	}
}

func TestHeadersAndCheck(t *testing.T) {
	sum := sha256.Sum256([]byte("hello"))
	b64 := base64.StdEncoding.EncodeToString(sum[:])
	want := hex.EncodeToString(sum[:])
	s := FromHeaders([]string{"unixsum=:AAAA:, sha-256=:" + b64 + ":"}, nil)
	if s[SHA256] != want {
		t.Fatalf("Repr-Digest: %v", s)
	}
	if s := FromHeaders(nil, []string{"SHA-256=" + b64}); s[SHA256] != want {
		t.Fatalf("Digest: %v", s)
	}
	if s := FromHeaders([]string{"sha-256=:AAAA:"}, nil); len(s) != 0 {
		t.Fatalf("short digest accepted: %v", s)
	}
	h := NewHasher(Set{MD5: "x"})
	h.Write([]byte("hello"))
	got := h.Sum()
	if got[SHA256] != want || got[MD5] != "5d41402abc4b2a76b9719d911017c592" {
		t.Fatalf("Sum = %v", got)
	}
	if err := Check(Set{SHA256: want}, got); err != nil {
		t.Fatal(err)
	}
	err := Check(Set{MD5: "00"}, got)
	if !errors.Is(err, ErrMismatch) || err.Error() != "digest mismatch: md5 is 5d41402abc4b2a76b9719d911017c592, expected 00" {
		t.Fatalf("mismatch error: %v", err)
	}
}

func FuzzParseChecksums(f *testing.F) {
	f.Add("d41d8cd98f00b204e9800998ecf8427e  a\nSHA256 (x) = 00\n")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseChecksums(strings.NewReader(s))
		if err == nil && c.Len() < 0 {
			t.Fatal("negative")
		}
	})
}

// An expected digest that was not computed is a mismatch, unless grab
// cannot compute its algorithm at all.
func TestCheckWantsEveryExpected(t *testing.T) {
	got := Set{SHA256: "aa"}
	if err := Check(Set{SHA256: "aa", MD5: "bb"}, got); !errors.Is(err, ErrMismatch) || err.Error() != "digest mismatch: md5 expected, and not computed" {
		t.Fatalf("md5 not computed: %v", err)
	}
	if err := Check(Set{SHA256: "aa", "md4-seeded": "cc"}, got); err != nil {
		t.Fatalf("an algorithm grab cannot compute: %v", err)
	}
}

// Seeded MD4 (rsync before protocol 30) is MD4 of the seed, four bytes
// little-endian, then the data; the seed is part of the name, spelled one
// way only.
func TestSeededMD4(t *testing.T) {
	data := []byte("licence plates")
	for _, seed := range []int32{0, 1, -7, 1<<31 - 1} {
		alg := SeededMD4(seed)
		h := md4.New()
		h.Write(binary.LittleEndian.AppendUint32(nil, uint32(seed)))
		h.Write(data)
		want := hex.EncodeToString(h.Sum(nil))
		got := NewHasher(Set{alg: want})
		got.Write(data)
		if err := Check(Set{alg: want}, got.Sum()); err != nil {
			t.Errorf("seed %d: %v", seed, err)
		}
		if err := Check(Set{alg: strings.Repeat("0", 32)}, got.Sum()); !errors.Is(err, ErrMismatch) {
			t.Errorf("seed %d: a wrong sum gives %v", seed, err)
		}
	}
	for _, alg := range []string{"md4-seeded:", "md4-seeded:+1", "md4-seeded:01", "md4-seeded:x", "md4-seeded:4294967296", "md4-seeded"} {
		if newHash(alg) != nil {
			t.Errorf("%q names a hash", alg)
		}
	}
}
