package bacnet

import (
	"bytes"
	"encoding/hex"
	"errors"
	"math"
	"reflect"
	"testing"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The encodings of clause 20.2's examples (ASHRAE 135-2020, 20.2.2 to 20.2.14), each encoded
// and decoded back.
var standardValues = []struct {
	clause, hex string
	v           Value
}{
	{"20.2.2 null", "00", Value{Kind: KindNull}},
	{"20.2.3 boolean false", "10", Value{Kind: KindBoolean}},
	{"20.2.3 boolean true", "11", Value{Kind: KindBoolean, Bool: true}},
	{"20.2.4 unsigned 72", "2148", Value{Kind: KindUnsigned, Uint: 72}},
	{"20.2.5 signed -72", "31b8", Value{Kind: KindSigned, Int: -72}},
	{"20.2.6 real 72.0", "4442900000", Value{Kind: KindReal, Real: 72}},
	{"20.2.7 double 72.0", "55084052000000000000", Value{Kind: KindDouble, Double: 72}},
	{"20.2.8 octet string 1234FF", "631234ff", Value{Kind: KindOctetString, Bytes: []byte{0x12, 0x34, 0xff}}},
	{"20.2.9 character string", "751900546869732069732061204241436e657420737472696e6721",
		Value{Kind: KindCharString, String: "This is a BACnet string!"}},
	{"20.2.10 bit string 10101", "8203a8", Value{Kind: KindBitString, Bits: BitString{Len: 5, Bits: []byte{0xa8}}}},
	{"20.2.11 enumerated 0", "9100", Value{Kind: KindEnumerated}},
	{"20.2.12 date 1991-01-24 thursday", "a45b011804", Value{Kind: KindDate, Date: Date{91, 1, 24, 4}}},
	{"20.2.13 time 17:35:45.17", "b411232d11", Value{Kind: KindTime, Time: Time{17, 35, 45, 17}}},
	{"20.2.14 object binary-input 15", "c400c0000f", Value{Kind: KindObjectID, Object: ObjectID{ObjectBinaryInput, 15}}},
}

func TestValuesOfTheStandard(t *testing.T) {
	for _, c := range standardValues {
		want := unhex(t, c.hex)
		if got := AppendValue(nil, c.v); !bytes.Equal(got, want) {
			t.Errorf("%s: encoded % x, want % x", c.clause, got, want)
		}
		v, n, err := DecodeValue(want)
		if err != nil || n != len(want) || !reflect.DeepEqual(v, c.v) {
			t.Errorf("%s: decoded %+v (%d octets, %v), want %+v", c.clause, v, n, err, c.v)
		}
	}
}

// 20.2.1.3.1 and 20.2.1.2: lengths above 4 move into one, three or five further octets, and
// tag numbers of 15 and above into a second octet; every boundary decodes to what was encoded.
func TestTagBoundaries(t *testing.T) {
	for _, c := range []struct {
		number  uint8
		context bool
		length  uint32
		hex     string
	}{
		{0, true, 4, "0c"},
		{1, true, 5, "1d05"},
		{2, false, 253, "25fd"},
		{2, false, 254, "25fe00fe"},
		{3, true, 65535, "3dfeffff"},
		{3, true, 65536, "3dff00010000"},
		{14, true, 1, "e9"},
		{15, true, 1, "f90f"},
		{254, false, 0, "f0fe"},
	} {
		got := AppendTag(nil, c.number, c.context, c.length)
		if want := unhex(t, c.hex); !bytes.Equal(got, want) {
			t.Errorf("tag %d length %d: % x, want % x", c.number, c.length, got, want)
		}
		tag, n, err := DecodeTag(got)
		if err != nil || n != len(got) || tag != (Tag{Number: c.number, Context: c.context, Length: c.length}) {
			t.Errorf("tag %d length %d: decoded %+v (%d, %v)", c.number, c.length, tag, n, err)
		}
	}
	open := AppendOpening(nil, 3)
	closing := AppendClosing(nil, 3)
	if !bytes.Equal(open, []byte{0x3e}) || !bytes.Equal(closing, []byte{0x3f}) {
		t.Errorf("opening/closing 3: % x % x, want 3e 3f", open, closing)
	}
}

// Integers take the fewest octets that hold them, at every width boundary (20.2.4, 20.2.5).
func TestIntegerWidths(t *testing.T) {
	for _, i := range []int64{0, 127, 128, -128, -129, 32767, 32768, -32769, 1 << 40, math.MaxInt64, math.MinInt64} {
		b := AppendValue(nil, Value{Kind: KindSigned, Int: i})
		v, _, err := DecodeValue(b)
		if err != nil || v.Int != i {
			t.Errorf("signed %d: % x decoded %d, %v", i, b, v.Int, err)
		}
		tag, _, _ := DecodeTag(b)
		if want := minSignedOctets(i); int(tag.Length) != want {
			t.Errorf("signed %d took %d octets, want %d", i, tag.Length, want)
		}
	}
	for _, u := range []uint64{0, 255, 256, 65535, 65536, math.MaxUint32, math.MaxUint64} {
		b := AppendValue(nil, Value{Kind: KindUnsigned, Uint: u})
		v, _, err := DecodeValue(b)
		if err != nil || v.Uint != u {
			t.Errorf("unsigned %d: % x decoded %d, %v", u, b, v.Uint, err)
		}
	}
}

func minSignedOctets(i int64) int {
	for n := 1; n < 8; n++ {
		if i >= -(1<<(8*n-1)) && i < 1<<(8*n-1) {
			return n
		}
	}
	return 8
}

func TestValueErrors(t *testing.T) {
	for name, h := range map[string]string{
		"truncated real":         "444290",
		"real of 3 octets":       "43429000",
		"unsigned of 9 octets":   "2509010203040506070809",
		"character set 4":        "7304414243",
		"bit string unused 8":    "820800",
		"context where app":      "0c00000005",
		"closing as application": "3f",
		"truncated extended len": "65",
		"truncated tag number":   "f0",
		"boolean value 2":        "12",
	} {
		if _, _, err := DecodeValue(unhex(t, h)); err == nil {
			t.Errorf("%s (%s): no error", name, h)
		}
	}
	if _, _, err := DecodeValue(unhex(t, "444290")); !errors.Is(err, ErrTruncated) {
		t.Errorf("truncated real: %v, want ErrTruncated", err)
	}
}

func TestParseObjectID(t *testing.T) {
	for s, want := range map[string]ObjectID{
		"analog-input:0":        {ObjectAnalogInput, 0},
		"multi-state-value:4":   {ObjectMultiStateValue, 4},
		"130:7":                 {130, 7},
		"binary-output:4194302": {ObjectBinaryOutput, 4194302},
	} {
		got, err := ParseObjectID(s)
		if err != nil || got != want {
			t.Errorf("%s: %v %v, want %v", s, got, err, want)
		}
		if err == nil && want.Type < 20 && got.String() != s {
			t.Errorf("%s printed as %s", s, got)
		}
	}
	for _, s := range []string{"analog-input", "analog-inpt:1", "analog-input:4194303", "1024:1", "ai:-1"} {
		if _, err := ParseObjectID(s); err == nil {
			t.Errorf("%s: no error", s)
		}
	}
}
