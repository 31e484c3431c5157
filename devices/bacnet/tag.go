package bacnet

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// ErrTruncated is the error of a decoder that reached the end of its input in the middle of a
// tag, a header or a value.
var ErrTruncated = errors.New("bacnet: truncated")

// Tag is the header of one encoded item (ASHRAE 135-2020, 20.2.1): its number, its class
// (application or context specific) and either the length of its content, or that it opens
// or closes a constructed item.
type Tag struct {
	Number  uint8
	Context bool   // 20.2.1.1: class bit set, a context-specific tag
	Length  uint32 // length of the content in octets; for an application Boolean, its value
	Opening bool   // 20.2.1.3.2: LVT 6, an opening tag
	Closing bool   // 20.2.1.3.2: LVT 7, a closing tag
}

// DecodeTag reads the tag at the start of b and returns it with the number of octets its
// header took. It checks the header alone: the caller checks that Length octets follow.
func DecodeTag(b []byte) (Tag, int, error) {
	if len(b) < 1 {
		return Tag{}, 0, ErrTruncated
	}
	first := b[0]
	t := Tag{Number: first >> 4, Context: first&0x08 != 0}
	n := 1
	// 20.2.1.2: tag number 15 in the initial octet means the number is in the next octet.
	if t.Number == 0x0f {
		if len(b) < 2 {
			return Tag{}, 0, ErrTruncated
		}
		t.Number = b[1]
		if t.Number == 0xff {
			return Tag{}, 0, errors.New("bacnet: tag number 255 is reserved")
		}
		n = 2
	}
	lvt := first & 0x07
	switch {
	case t.Context && lvt == 6:
		t.Opening = true
		return t, n, nil
	case t.Context && lvt == 7:
		t.Closing = true
		return t, n, nil
	case lvt < 5:
		t.Length = uint32(lvt)
		return t, n, nil
	case lvt == 5:
		return decodeExtendedLength(b, n, t)
	}
	// 20.2.1.3.2: opening and closing tags are context specific only.
	return Tag{}, 0, fmt.Errorf("bacnet: application tag %d with length/value/type %d", t.Number, lvt)
}

// decodeExtendedLength reads the length octets that follow an LVT of 5 (20.2.1.3.1): one
// octet for 5 to 253, 254 then two octets, 255 then four.
func decodeExtendedLength(b []byte, n int, t Tag) (Tag, int, error) {
	if len(b) < n+1 {
		return Tag{}, 0, ErrTruncated
	}
	switch l := b[n]; l {
	case 254:
		if len(b) < n+3 {
			return Tag{}, 0, ErrTruncated
		}
		t.Length = uint32(binary.BigEndian.Uint16(b[n+1:]))
		return t, n + 3, nil
	case 255:
		if len(b) < n+5 {
			return Tag{}, 0, ErrTruncated
		}
		t.Length = binary.BigEndian.Uint32(b[n+1:])
		return t, n + 5, nil
	default:
		t.Length = uint32(l)
		return t, n + 1, nil
	}
}

// AppendTag appends the header of a primitive item (20.2.1): tag number, class and length,
// the length extended into following octets when it exceeds 4 (20.2.1.3.1).
func AppendTag(dst []byte, number uint8, context bool, length uint32) []byte {
	var class byte
	if context {
		class = 0x08
	}
	lvt := byte(length)
	if length > 4 {
		lvt = 5
	}
	dst = appendTagNumber(dst, number, class|lvt)
	switch {
	case length <= 4:
	case length <= 253:
		dst = append(dst, byte(length))
	case length <= 0xffff:
		dst = append(dst, 254)
		dst = binary.BigEndian.AppendUint16(dst, uint16(length))
	default:
		dst = append(dst, 255)
		dst = binary.BigEndian.AppendUint32(dst, length)
	}
	return dst
}

// AppendOpening appends the opening tag of a constructed context item (20.2.1.3.2).
func AppendOpening(dst []byte, number uint8) []byte {
	return appendTagNumber(dst, number, 0x0e)
}

// AppendClosing appends the closing tag of a constructed context item (20.2.1.3.2).
func AppendClosing(dst []byte, number uint8) []byte {
	return appendTagNumber(dst, number, 0x0f)
}

// appendTagNumber writes the initial octet, moving tag numbers of 15 and above into an extra
// octet (20.2.1.2).
func appendTagNumber(dst []byte, number uint8, low byte) []byte {
	if number >= 15 {
		return append(dst, 0xf0|low, number)
	}
	return append(dst, number<<4|low)
}

// content returns the Length octets that follow a tag header of n octets.
func content(b []byte, n int, t Tag) ([]byte, error) {
	if t.Opening || t.Closing {
		return nil, nil
	}
	if uint64(len(b)-n) < uint64(t.Length) {
		return nil, ErrTruncated
	}
	return b[n : n+int(t.Length)], nil
}
