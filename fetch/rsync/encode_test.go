package rsync

import (
	"encoding/binary"
	"time"
)

// Encoders of what a daemon sends, for unit tests, fuzz seeds and the
// hostile daemons; written from the wire format, the mirror of wire.go.

func encVarint(b []byte, x int32) []byte { return encVarlong(b, int64(uint32(x)), 1) }

// encVarlong writes x in at least min bytes: the first byte holds the
// count of extra bytes in its high bits and the top byte's value below
// them, then min-1 low bytes, then the extra bytes.
func encVarlong(b []byte, x int64, min int) []byte {
	var v [9]byte
	binary.LittleEndian.PutUint64(v[1:], uint64(x))
	cnt := 8
	for cnt > min && v[cnt] == 0 {
		cnt--
	}
	bit := byte(1) << (7 - cnt + min)
	switch {
	case v[cnt] >= bit:
		cnt++
		v[0] = ^(bit - 1)
	case cnt > min:
		v[0] = v[cnt] | ^(bit*2 - 1)
	default:
		v[0] = v[cnt]
	}
	return append(b, v[:cnt]...)
}

func encInt(b []byte, x int32) []byte { return binary.LittleEndian.AppendUint32(b, uint32(x)) }

func encLongint(b []byte, x int64) []byte {
	if x >= 0 && x <= 0x7FFFFFFF {
		return encInt(b, int32(x))
	}
	b = encInt(b, -1)
	return binary.LittleEndian.AppendUint64(b, uint64(x))
}

type testEntry struct {
	name  string
	size  int64
	mtime int64
	nsec  int32
	mode  uint32
}

// encList encodes a file list as a sender would, prefix-compressing names.
func encList(lf listFormat, es []testEntry, ioErr int32) []byte {
	var b []byte
	last := ""
	var lastMode uint32
	var lastTime int64 = -1
	for i, e := range es {
		l1 := 0
		for l1 < len(last) && l1 < len(e.name) && l1 < 255 && last[l1] == e.name[l1] {
			l1++
		}
		l2 := len(e.name) - l1
		flags := int32(0)
		if l1 > 0 {
			flags |= xmitSameName
		}
		if l2 > 255 {
			flags |= xmitLongName
		}
		if i > 0 && e.mode == lastMode {
			flags |= xmitSameMode
		}
		if e.mtime == lastTime {
			flags |= xmitSameTime
		}
		if lf.proto >= 31 && e.nsec != 0 {
			flags |= xmitModNsec
		}
		if lf.varintFlags {
			if flags == 0 {
				flags = xmitTopDir
			}
			b = encVarint(b, flags)
		} else {
			if flags&0xFF == 0 {
				flags |= xmitTopDir
			}
			if flags&^0xFF != 0 {
				flags |= xmitExtended
				b = append(b, byte(flags), byte(flags>>8))
			} else {
				b = append(b, byte(flags))
			}
		}
		if flags&xmitSameName != 0 {
			b = append(b, byte(l1))
		}
		if flags&xmitLongName != 0 {
			if lf.proto >= 30 {
				b = encVarint(b, int32(l2))
			} else {
				b = encInt(b, int32(l2))
			}
		} else {
			b = append(b, byte(l2))
		}
		b = append(b, e.name[l1:]...)
		if lf.proto >= 30 {
			b = encVarlong(b, e.size, 3)
		} else {
			b = encLongint(b, e.size)
		}
		if flags&xmitSameTime == 0 {
			if lf.proto >= 30 {
				b = encVarlong(b, e.mtime, 4)
			} else {
				b = encInt(b, int32(e.mtime))
			}
		}
		if flags&xmitModNsec != 0 {
			b = encVarint(b, e.nsec)
		}
		if flags&xmitSameMode == 0 {
			b = encInt(b, int32(e.mode))
		}
		last, lastMode, lastTime = e.name, e.mode, e.mtime
	}
	if lf.varintFlags {
		b = encVarint(b, 0)
		b = encVarint(b, ioErr)
	} else {
		b = append(b, 0)
	}
	if lf.proto < 30 {
		b = encInt(b, ioErr)
	}
	return b
}

// frame wraps p in multiplexed frames of tag.
func frame(tag int, p []byte) []byte {
	b := binary.LittleEndian.AppendUint32(nil, uint32(muxBase+tag)<<24|uint32(len(p)))
	return append(b, p...)
}

var testTime = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC).Unix()
