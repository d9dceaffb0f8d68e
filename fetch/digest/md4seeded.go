package digest

import (
	"encoding/binary"
	"hash"
	"strconv"
	"strings"

	"golang.org/x/crypto/md4"
)

// MD4Seeded names the whole-file checksum of rsync daemons before protocol
// 30: MD4 over the session's seed (four bytes, little-endian), then the
// file. The seed differs from session to session, so the name carries it:
// MD4Seeded + ":" + the seed in decimal, as SeededMD4 spells it.
const MD4Seeded = "md4-seeded"

// SeededMD4 is the algorithm name of MD4Seeded with seed.
func SeededMD4(seed int32) string { return MD4Seeded + ":" + strconv.FormatInt(int64(seed), 10) }

// newSeededMD4 returns the hash an algorithm name of SeededMD4's form
// stands for, nil for any other name.
func newSeededMD4(alg string) hash.Hash {
	rest, ok := strings.CutPrefix(alg, MD4Seeded+":")
	if !ok {
		return nil
	}
	seed, err := strconv.ParseInt(rest, 10, 32)
	if err != nil || SeededMD4(int32(seed)) != alg {
		return nil // one spelling per seed, so that a Set has one key per sum
	}
	h := md4.New()
	h.Write(binary.LittleEndian.AppendUint32(nil, uint32(seed)))
	return h
}
