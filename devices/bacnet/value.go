package bacnet

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"unicode/utf8"
)

// Kind is an application tag number (ASHRAE 135-2020, 20.2.1.4, Table 20-1 "application tags").
type Kind uint8

const (
	KindNull        Kind = 0
	KindBoolean     Kind = 1
	KindUnsigned    Kind = 2
	KindSigned      Kind = 3
	KindReal        Kind = 4
	KindDouble      Kind = 5
	KindOctetString Kind = 6
	KindCharString  Kind = 7
	KindBitString   Kind = 8
	KindEnumerated  Kind = 9
	KindDate        Kind = 10
	KindTime        Kind = 11
	KindObjectID    Kind = 12
)

var kindNames = [...]string{"null", "boolean", "unsigned", "signed", "real", "double",
	"octet-string", "character-string", "bit-string", "enumerated", "date", "time", "object-identifier"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("application-tag-%d", uint8(k))
}

// ObjectType is a BACnetObjectType (21, "BACnetObjectType").
type ObjectType uint16

// ObjectID is a BACnetObjectIdentifier: 10 bits of object type and 22 of instance (20.2.14).
type ObjectID struct {
	Type     ObjectType
	Instance uint32
}

// MaxInstance is the largest instance number (20.2.14: 22 bits); 4194303 itself means
// "unspecified" in a Who-Is or a device's own identifier.
const MaxInstance = 1<<22 - 1

// Date is a BACnet date (20.2.12). Each field is 255 when unspecified; Year is the year minus
// 1900 as encoded.
type Date struct{ Year, Month, Day, Weekday uint8 }

// Time is a BACnet time of day (20.2.13); each field is 255 when unspecified.
type Time struct{ Hour, Minute, Second, Hundredths uint8 }

// BitString is a BACnet bit string (20.2.10): Len bits, bit 0 the most significant bit of the
// first octet of Bits.
type BitString struct {
	Len  int
	Bits []byte
}

// Bit reports bit i; bits beyond Len are false.
func (s BitString) Bit(i int) bool {
	if i < 0 || i >= s.Len || i/8 >= len(s.Bits) {
		return false
	}
	return s.Bits[i/8]&(0x80>>(i%8)) != 0
}

// Value is one application-tagged value. Kind says which field holds it.
type Value struct {
	Kind   Kind
	Bool   bool
	Uint   uint64 // Unsigned and Enumerated
	Int    int64
	Real   float32
	Double float64
	Bytes  []byte // Octet String
	String string // Character String (character set 0, UTF-8)
	Bits   BitString
	Date   Date
	Time   Time
	Object ObjectID
}

// Float returns the value as a number for a reading: reals, doubles, integers, enumerations
// (a multi-state or binary present value) and booleans; ok is false for the other kinds.
func (v Value) Float() (f float64, ok bool) {
	switch v.Kind {
	case KindReal:
		return float64(v.Real), true
	case KindDouble:
		return v.Double, true
	case KindUnsigned, KindEnumerated:
		return float64(v.Uint), true
	case KindSigned:
		return float64(v.Int), true
	case KindBoolean:
		if v.Bool {
			return 1, true
		}
		return 0, true
	}
	return 0, false
}

// AppendValue appends v with its application tag.
func AppendValue(dst []byte, v Value) []byte {
	if v.Kind == KindBoolean {
		// 20.2.3: an application-tagged Boolean is its LVT, with no content octets.
		var b uint32
		if v.Bool {
			b = 1
		}
		return AppendTag(dst, uint8(KindBoolean), false, b)
	}
	body := appendContent(nil, v)
	dst = AppendTag(dst, uint8(v.Kind), false, uint32(len(body)))
	return append(dst, body...)
}

// AppendContext appends v with context tag number, as service parameters are encoded.
func AppendContext(dst []byte, number uint8, v Value) []byte {
	body := appendContent(nil, v)
	if v.Kind == KindBoolean {
		// 20.2.3: a context-tagged Boolean has one content octet.
		body = []byte{0}
		if v.Bool {
			body[0] = 1
		}
	}
	dst = AppendTag(dst, number, true, uint32(len(body)))
	return append(dst, body...)
}

func appendContent(dst []byte, v Value) []byte {
	switch v.Kind {
	case KindUnsigned, KindEnumerated:
		return appendUnsigned(dst, v.Uint)
	case KindSigned:
		return appendSigned(dst, v.Int)
	case KindReal:
		return binary.BigEndian.AppendUint32(dst, math.Float32bits(v.Real)) // 20.2.6: IEEE 754 single
	case KindDouble:
		return binary.BigEndian.AppendUint64(dst, math.Float64bits(v.Double)) // 20.2.7
	case KindOctetString:
		return append(dst, v.Bytes...)
	case KindCharString:
		return append(append(dst, 0), v.String...) // 20.2.9: character set 0, ISO 10646 UTF-8
	case KindBitString:
		return appendBitString(dst, v.Bits)
	case KindDate:
		return append(dst, v.Date.Year, v.Date.Month, v.Date.Day, v.Date.Weekday)
	case KindTime:
		return append(dst, v.Time.Hour, v.Time.Minute, v.Time.Second, v.Time.Hundredths)
	case KindObjectID:
		return binary.BigEndian.AppendUint32(dst, uint32(v.Object.Type)<<22|v.Object.Instance&MaxInstance)
	}
	return dst // Null (20.2.2) has no content
}

// appendUnsigned writes u in the fewest octets, big-endian (20.2.4).
func appendUnsigned(dst []byte, u uint64) []byte {
	n := 1
	for n < 8 && u>>(8*n) != 0 {
		n++
	}
	for i := n - 1; i >= 0; i-- {
		dst = append(dst, byte(u>>(8*i)))
	}
	return dst
}

// appendSigned writes i in the fewest octets of two's complement (20.2.5).
func appendSigned(dst []byte, i int64) []byte {
	n := 1
	for n < 8 && (i < -(1<<(8*n-1)) || i >= 1<<(8*n-1)) {
		n++
	}
	for k := n - 1; k >= 0; k-- {
		dst = append(dst, byte(i>>(8*k)))
	}
	return dst
}

// appendBitString writes the count of unused bits in the last octet, then the bits (20.2.10).
func appendBitString(dst []byte, s BitString) []byte {
	octets := (s.Len + 7) / 8
	dst = append(dst, byte(octets*8-s.Len))
	for i := 0; i < octets; i++ {
		var o byte
		if i < len(s.Bits) {
			o = s.Bits[i]
		}
		dst = append(dst, o)
	}
	return dst
}

// DecodeValue reads one application-tagged value at the start of b and returns it with the
// octets it took.
func DecodeValue(b []byte) (Value, int, error) {
	t, n, err := DecodeTag(b)
	if err != nil {
		return Value{}, 0, err
	}
	if t.Context {
		return Value{}, 0, fmt.Errorf("bacnet: context tag %d where an application value was expected", t.Number)
	}
	if Kind(t.Number) == KindBoolean {
		if t.Length > 1 {
			return Value{}, 0, fmt.Errorf("bacnet: boolean with value %d", t.Length)
		}
		return Value{Kind: KindBoolean, Bool: t.Length == 1}, n, nil
	}
	c, err := content(b, n, t)
	if err != nil {
		return Value{}, 0, err
	}
	v, err := DecodeContent(Kind(t.Number), c)
	return v, n + len(c), err
}

// DecodeContent decodes the content octets c of a value of kind k, as found under an
// application tag or, where the service says which kind it is, under a context tag.
func DecodeContent(k Kind, c []byte) (Value, error) {
	v := Value{Kind: k}
	var err error
	switch k {
	case KindNull:
		if len(c) != 0 {
			err = errLength(k, len(c))
		}
	case KindBoolean:
		if len(c) != 1 || c[0] > 1 {
			return v, fmt.Errorf("bacnet: context boolean of %d octets", len(c))
		}
		v.Bool = c[0] == 1
	case KindUnsigned, KindEnumerated:
		v.Uint, err = decodeUnsigned(k, c)
	case KindSigned:
		v.Int, err = decodeSigned(c)
	case KindReal:
		if len(c) != 4 {
			return v, errLength(k, len(c))
		}
		v.Real = math.Float32frombits(binary.BigEndian.Uint32(c))
	case KindDouble:
		if len(c) != 8 {
			return v, errLength(k, len(c))
		}
		v.Double = math.Float64frombits(binary.BigEndian.Uint64(c))
	default:
		return decodeOther(v, c)
	}
	return v, err
}

func decodeOther(v Value, c []byte) (Value, error) {
	switch v.Kind {
	case KindOctetString:
		v.Bytes = append([]byte(nil), c...)
	case KindCharString:
		s, err := decodeCharString(c)
		v.String = s
		return v, err
	case KindBitString:
		if len(c) < 1 || c[0] > 7 || (len(c) == 1 && c[0] != 0) {
			return v, fmt.Errorf("bacnet: bit string with %d unused bits in %d octets", firstOr(c), len(c))
		}
		v.Bits = BitString{Len: (len(c)-1)*8 - int(c[0]), Bits: append([]byte(nil), c[1:]...)}
	case KindDate, KindTime, KindObjectID:
		if len(c) != 4 {
			return v, errLength(v.Kind, len(c))
		}
		v.Date = Date{c[0], c[1], c[2], c[3]}
		v.Time = Time{c[0], c[1], c[2], c[3]}
		id := binary.BigEndian.Uint32(c)
		v.Object = ObjectID{Type: ObjectType(id >> 22), Instance: id & MaxInstance}
		if v.Kind != KindDate {
			v.Date = Date{}
		}
		if v.Kind != KindTime {
			v.Time = Time{}
		}
		if v.Kind != KindObjectID {
			v.Object = ObjectID{}
		}
	default:
		return v, fmt.Errorf("bacnet: reserved application tag %d", uint8(v.Kind))
	}
	return v, nil
}

// decodeCharString reads a character string (20.2.9). Only character set 0 (ISO 10646 UTF-8,
// which devices also send for plain ASCII) is read; the others are rare in the field.
func decodeCharString(c []byte) (string, error) {
	if len(c) < 1 {
		return "", errors.New("bacnet: character string without its character set")
	}
	if c[0] != 0 {
		return "", fmt.Errorf("bacnet: character set %d is not supported (only 0, UTF-8)", c[0])
	}
	if !utf8.Valid(c[1:]) {
		return "", errors.New("bacnet: character string is not valid UTF-8")
	}
	return string(c[1:]), nil
}

func decodeUnsigned(k Kind, c []byte) (uint64, error) {
	if len(c) < 1 || len(c) > 8 {
		return 0, errLength(k, len(c))
	}
	var u uint64
	for _, o := range c {
		u = u<<8 | uint64(o)
	}
	return u, nil
}

func decodeSigned(c []byte) (int64, error) {
	if len(c) < 1 || len(c) > 8 {
		return 0, errLength(KindSigned, len(c))
	}
	i := int64(int8(c[0])) // sign-extend from the first octet
	for _, o := range c[1:] {
		i = i<<8 | int64(o)
	}
	return i, nil
}

func errLength(k Kind, n int) error {
	return fmt.Errorf("bacnet: %s of %d octets", k, n)
}

func firstOr(c []byte) int {
	if len(c) == 0 {
		return 0
	}
	return int(c[0])
}
