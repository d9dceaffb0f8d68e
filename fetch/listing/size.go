package listing

import (
	"math"
	"strings"
	"unicode"
)

// maxSizeText bounds the text ParseSize looks at; real size columns are
// at most about twenty characters.
const maxSizeText = 64

// ParseSize reads a size as listings print it. Plain integers ("123456",
// "1,234,567", "512 bytes", "512 B") are exact. A number followed by K, M,
// G, T, P or E, with or without "B" or "iB", with or without a space and
// with an optional decimal fraction ("14K", "1.2M", "1.2 MB", "3.5 GiB"),
// is rounded by the server: it is read with binary multiples (K = 1024) and
// reported with approx true. Anything else ("-", "", "&mdash;", negative
// numbers, overflow) gives ok false and size -1.
func ParseSize(s string) (size int64, approx bool, ok bool) {
	s = strings.TrimFunc(s, unicode.IsSpace)
	if s == "" || len(s) > maxSizeText {
		return -1, false, false
	}
	i := 0
	var whole uint64
	digits := 0
	grouped := false
	for i < len(s) {
		c := s[i]
		if c >= '0' && c <= '9' {
			if whole > (math.MaxInt64-uint64(c-'0'))/10 {
				return -1, false, false
			}
			whole = whole*10 + uint64(c-'0')
			digits++
			i++
			continue
		}
		if c == ',' && digits > 0 && isDigits(s[i+1:min(i+4, len(s))]) &&
			(i+4 == len(s) || s[i+4] < '0' || s[i+4] > '9') {
			// A thousands separator: exactly three digits follow.
			grouped = true
			i++
			continue
		}
		break
	}
	if digits == 0 {
		return -1, false, false
	}
	var frac uint64
	fracDigits := 0
	if i < len(s) && s[i] == '.' {
		i++
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			if fracDigits < 9 {
				frac = frac*10 + uint64(s[i]-'0')
				fracDigits++
			}
			i++
		}
		if fracDigits == 0 || grouped {
			return -1, false, false
		}
	}
	unit := strings.ToLower(strings.TrimLeftFunc(s[i:], unicode.IsSpace))
	shift, isBytes, known := unitShift(unit)
	if !known {
		return -1, false, false
	}
	if isBytes {
		if fracDigits > 0 {
			return -1, false, false
		}
		return int64(whole), false, true
	}
	mult := uint64(1) << shift
	if whole > math.MaxInt64/mult {
		return -1, false, false
	}
	total := whole * mult
	if fracDigits > 0 {
		part := math.Round(float64(frac) / math.Pow10(fracDigits) * float64(mult))
		if float64(total)+part > float64(math.MaxInt64) {
			return -1, false, false
		}
		total += uint64(part)
	}
	if total > math.MaxInt64 {
		return -1, false, false
	}
	return int64(total), true, true
}

// unitShift maps a lower-case unit to its power-of-two shift. isBytes is
// true for a bare number or a byte unit.
func unitShift(unit string) (shift uint, isBytes, ok bool) {
	switch unit {
	case "", "b", "byte", "bytes":
		return 0, true, true
	}
	const prefixes = "kmgtpe"
	p := strings.IndexByte(prefixes, unit[0])
	if p < 0 {
		return 0, false, false
	}
	switch unit[1:] {
	case "", "b", "ib":
		return uint(10 * (p + 1)), false, true
	}
	return 0, false, false
}

func isDigits(s string) bool {
	if len(s) != 3 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
