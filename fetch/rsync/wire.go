package rsync

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// byteReader is what the decoders read from: the demultiplexed stream, or
// the raw connection before multiplexing starts.
type byteReader interface {
	io.Reader
	io.ByteReader
}

// extraBytes is how many bytes follow the first byte of a varint or
// varlong, by the first byte's top bits (the first byte divided by 4).
func extraBytes(first byte) int {
	switch {
	case first < 0x80:
		return 0
	case first < 0xC0:
		return 1
	case first < 0xE0:
		return 2
	case first < 0xF0:
		return 3
	case first < 0xF8:
		return 4
	case first < 0xFC:
		return 5
	}
	return 6
}

// eof turns the end of a stream in the middle of a value into ErrTruncated.
func eof(err error, what string) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: reading %s", ErrTruncated, what)
	}
	return fmt.Errorf("reading %s: %w", what, err)
}

func readFull(r io.Reader, b []byte, what string) error {
	if _, err := io.ReadFull(r, b); err != nil {
		return eof(err, what)
	}
	return nil
}

func readByte(r byteReader, what string) (byte, error) {
	b, err := r.ReadByte()
	if err != nil {
		return 0, eof(err, what)
	}
	return b, nil
}

func readInt32(r io.Reader, what string) (int32, error) {
	var b [4]byte
	if err := readFull(r, b[:], what); err != nil {
		return 0, err
	}
	return int32(binary.LittleEndian.Uint32(b[:])), nil
}

func readUint16(r io.Reader, what string) (uint16, error) {
	var b [2]byte
	if err := readFull(r, b[:], what); err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint16(b[:]), nil
}

// readVarint reads rsync's variable-length int32: the count of extra bytes
// is in the first byte's high bits, its low bits are the most significant
// byte, and the extra bytes are the value's low bytes, little-endian.
func readVarint(r byteReader, what string) (int32, error) {
	first, err := readByte(r, what)
	if err != nil {
		return 0, err
	}
	n := extraBytes(first)
	if n == 0 {
		return int32(first), nil
	}
	if n > 4 {
		return 0, fmt.Errorf("%w: varint %s with %d extra bytes", ErrProtocol, what, n)
	}
	var b [5]byte
	if err := readFull(r, b[:n], what); err != nil {
		return 0, err
	}
	b[n] = first & (1<<(8-n) - 1)
	return int32(binary.LittleEndian.Uint32(b[:4])), nil
}

// readVarlong reads rsync's variable-length int64 that takes at least min
// bytes: the first byte encodes the count of extra bytes as in readVarint,
// the next min-1 bytes are the low bytes.
func readVarlong(r byteReader, min int, what string) (int64, error) {
	var head [8]byte
	if err := readFull(r, head[:min], what); err != nil {
		return 0, err
	}
	var b [9]byte
	copy(b[:], head[1:min])
	n := extraBytes(head[0])
	if min+n > len(b) {
		return 0, fmt.Errorf("%w: varlong %s with %d extra bytes", ErrProtocol, what, n)
	}
	if n > 0 {
		if err := readFull(r, b[min-1:min-1+n], what); err != nil {
			return 0, err
		}
		b[min-1+n] = head[0] & (1<<(8-n) - 1)
	} else {
		b[min-1] = head[0]
	}
	return int64(binary.LittleEndian.Uint64(b[:8])), nil
}

// readLongint reads the pre-30 64-bit form: an int32, or -1 followed by
// eight bytes.
func readLongint(r io.Reader, what string) (int64, error) {
	v, err := readInt32(r, what)
	if err != nil || v != -1 {
		return int64(v), err
	}
	var b [8]byte
	if err := readFull(r, b[:], what); err != nil {
		return 0, err
	}
	return int64(binary.LittleEndian.Uint64(b[:])), nil
}

// readVarlong30 is a varlong for protocol 30 and later, a longint before.
func readVarlong30(r byteReader, proto, min int, what string) (int64, error) {
	if proto < 30 {
		return readLongint(r, what)
	}
	return readVarlong(r, min, what)
}

// readVarint30 is a varint for protocol 30 and later, an int32 before.
func readVarint30(r byteReader, proto int, what string) (int32, error) {
	if proto < 30 {
		return readInt32(r, what)
	}
	return readVarint(r, what)
}

// readVstring reads a string of at most max bytes prefixed by its length in
// one byte, or two when the first has its high bit set.
func readVstring(r byteReader, max int, what string) (string, error) {
	b0, err := readByte(r, what)
	if err != nil {
		return "", err
	}
	n := int(b0)
	if b0&0x80 != 0 {
		b1, err := readByte(r, what)
		if err != nil {
			return "", err
		}
		n = int(b0&0x7F)<<8 | int(b1)
	}
	if n > max {
		return "", fmt.Errorf("%w: %s of %d bytes (at most %d)", ErrLimit, what, n, max)
	}
	b := make([]byte, n)
	if err := readFull(r, b, what); err != nil {
		return "", err
	}
	return string(b), nil
}

// ndxReader decodes file indexes: int32 before protocol 30, the delta
// form after, each direction keeping its own previous values.
type ndxReader struct {
	proto            int
	prevPos, prevNeg int32
}

func newNdxReader(proto int) ndxReader { return ndxReader{proto: proto, prevPos: -1, prevNeg: 1} }

// ndxDone is the index that ends a phase.
const ndxDone = -1

func (n *ndxReader) read(r byteReader) (int32, error) {
	if n.proto < 30 {
		return readInt32(r, "file index")
	}
	b, err := readByte(r, "file index")
	if err != nil {
		return 0, err
	}
	prev := &n.prevPos
	neg := false
	switch b {
	case 0:
		return ndxDone, nil
	case 0xFF:
		neg = true
		prev = &n.prevNeg
		if b, err = readByte(r, "file index"); err != nil {
			return 0, err
		}
	}
	var num int32
	if b == 0xFE {
		var two [2]byte
		if err := readFull(r, two[:], "file index"); err != nil {
			return 0, err
		}
		if two[0]&0x80 != 0 {
			var rest [2]byte
			if err := readFull(r, rest[:], "file index"); err != nil {
				return 0, err
			}
			num = int32(two[1]) | int32(rest[0])<<8 | int32(rest[1])<<16 | int32(two[0]&0x7F)<<24
		} else {
			num = int32(two[0])<<8 | int32(two[1]) + *prev
		}
	} else {
		num = int32(b) + *prev
	}
	*prev = num
	if neg {
		return -num, nil
	}
	return num, nil
}

// ndxWriter encodes file indexes for the daemon.
type ndxWriter struct {
	proto   int
	prevPos int32
}

func newNdxWriter(proto int) ndxWriter { return ndxWriter{proto: proto, prevPos: -1} }

func (n *ndxWriter) append(b []byte, ndx int32) []byte {
	if n.proto < 30 {
		return binary.LittleEndian.AppendUint32(b, uint32(ndx))
	}
	if ndx == ndxDone {
		return append(b, 0)
	}
	// Only non-negative indexes besides DONE are ever sent by this client.
	diff := ndx - n.prevPos
	n.prevPos = ndx
	switch {
	case diff > 0 && diff < 0xFE:
		return append(b, byte(diff))
	case diff < 0 || diff > 0x7FFF:
		return append(b, 0xFE, byte(ndx>>24)|0x80, byte(ndx), byte(ndx>>8), byte(ndx>>16))
	default:
		return append(b, 0xFE, byte(diff>>8), byte(diff))
	}
}

func appendInt32(b []byte, v int32) []byte { return binary.LittleEndian.AppendUint32(b, uint32(v)) }

func appendVstring(b []byte, s string) []byte {
	if len(s) > 0x7F {
		b = append(b, byte(len(s)>>8)|0x80)
	}
	b = append(b, byte(len(s)))
	return append(b, s...)
}
