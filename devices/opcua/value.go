package opcua

import (
	"fmt"
	"math"
	"time"

	"github.com/gopcua/opcua/ua"

	"github.com/facilityd/facilityd/devices"
)

// severity is the top two bits of a status code (OPC UA Part 4, 7.39.1): 00 Good, 01
// Uncertain, 10 Bad.
func severity(s ua.StatusCode) string {
	switch uint32(s) >> 30 {
	case 0:
		return "good"
	case 1:
		return "uncertain"
	}
	return "bad"
}

// quality is the reading's quality for a value's status. An Uncertain value (a sensor out of
// its range, a substituted value) reads uncertain: shown with its value, but only good values
// become telemetry and drive alarms, so a doubtful value does neither.
func quality(s ua.StatusCode) devices.Quality {
	switch severity(s) {
	case "good":
		return devices.QualityGood
	case "uncertain":
		return devices.QualityUncertain
	}
	return devices.QualityBad
}

// decode turns a data value into the point's value. A value whose status is bad, or whose
// type cannot be read as the point's type, is bad; one whose status is uncertain is decoded
// and uncertain.
func decode(pt *Point, dv *ua.DataValue) (devices.Value, error) {
	if dv == nil {
		return devices.Value{Quality: devices.QualityBad}, fmt.Errorf("no value")
	}
	switch q := quality(dv.Status); q {
	case devices.QualityBad:
		return devices.Value{Quality: q}, fmt.Errorf("status %s (%s)", dv.Status, severity(dv.Status))
	case devices.QualityUncertain:
		v, err := decodeGood(pt, dv)
		if err != nil {
			return v, err
		}
		v.Quality = q
		return v, fmt.Errorf("status %s (%s)", dv.Status, severity(dv.Status))
	}
	return decodeGood(pt, dv)
}

// decodeGood is decode of a value whose status is not bad.
func decodeGood(pt *Point, dv *ua.DataValue) (devices.Value, error) {
	if dv.Value == nil {
		return devices.Value{Quality: devices.QualityBad}, fmt.Errorf("no value")
	}
	raw := dv.Value.Value()
	if pt.Type == devices.TypeString {
		switch v := raw.(type) {
		case string:
			return devices.Value{Text: v}, nil
		case *ua.LocalizedText:
			return devices.Value{Text: v.Text}, nil
		}
		return devices.Value{Text: fmt.Sprint(raw)}, nil
	}
	n, ok := number(raw)
	if !ok {
		return devices.Value{Quality: devices.QualityBad}, fmt.Errorf("a %T is not a number for a %s point", raw, pt.Type)
	}
	switch pt.Type {
	case devices.TypeBool:
		if n != 0 {
			n = 1
		}
		return devices.Value{Number: n}, nil
	case devices.TypeEnum:
		return devices.Value{Number: math.Trunc(n)}, nil
	}
	return devices.Value{Number: n*pt.Scale + pt.Offset}, nil
}

// number reads a variant's numeric (or boolean) value.
func number(raw any) (float64, bool) {
	switch v := raw.(type) {
	case bool:
		if v {
			return 1, true
		}
		return 0, true
	case int8:
		return float64(v), true
	case uint8:
		return float64(v), true
	case int16:
		return float64(v), true
	case uint16:
		return float64(v), true
	case int32:
		return float64(v), true
	case uint32:
		return float64(v), true
	case int64:
		return float64(v), true
	case uint64:
		return float64(v), true
	case float32:
		return float64(v), true
	case float64:
		return v, true
	}
	return 0, false
}

// valueTime is the time a value was taken: the source's timestamp (when the plant sampled it),
// else the server's, else zero.
func valueTime(dv *ua.DataValue) time.Time {
	if dv == nil {
		return time.Time{}
	}
	if !dv.SourceTimestamp.IsZero() {
		return dv.SourceTimestamp
	}
	return dv.ServerTimestamp
}

// encode turns an engineering value into a variant of the node's own data type (like, the
// variant last read from it), undoing scale and offset. OPC UA Part 4, 5.10.4: a Write whose
// value is of another built-in type than the node's fails with BadTypeMismatch.
func encode(pt *Point, v devices.Value, like *ua.Variant) (*ua.Variant, error) {
	if pt.Type == devices.TypeString {
		return ua.NewVariant(v.Text)
	}
	raw := v.Number
	if pt.Type != devices.TypeBool && pt.Type != devices.TypeEnum {
		raw = (v.Number - pt.Offset) / pt.Scale
	}
	var kind any
	if like != nil {
		kind = like.Value()
	}
	intIn := func(lo, hi float64) (float64, error) {
		r := math.Round(raw)
		if r < lo || r > hi {
			return 0, fmt.Errorf("%v is out of the node's range %v to %v", raw, lo, hi)
		}
		return r, nil
	}
	var out any
	var err error
	var r float64
	switch kind.(type) {
	case bool:
		out = raw != 0
	case int8:
		r, err = intIn(math.MinInt8, math.MaxInt8)
		out = int8(r)
	case uint8:
		r, err = intIn(0, math.MaxUint8)
		out = uint8(r)
	case int16:
		r, err = intIn(math.MinInt16, math.MaxInt16)
		out = int16(r)
	case uint16:
		r, err = intIn(0, math.MaxUint16)
		out = uint16(r)
	case int32:
		r, err = intIn(math.MinInt32, math.MaxInt32)
		out = int32(r)
	case uint32:
		r, err = intIn(0, math.MaxUint32)
		out = uint32(r)
	case int64:
		r, err = intIn(math.MinInt64, math.MaxInt64)
		out = int64(r)
	case uint64:
		r, err = intIn(0, math.MaxUint64)
		out = uint64(r)
	case float32:
		out = float32(raw)
	case float64:
		out = raw
	default:
		// The node's type is unknown (never read): go by the point's type.
		switch pt.Type {
		case devices.TypeBool:
			out = raw != 0
		case devices.TypeFloat32:
			out = float32(raw)
		case devices.TypeFloat64:
			out = raw
		default:
			out = int64(math.Round(raw))
		}
	}
	if err != nil {
		return nil, err
	}
	return ua.NewVariant(out)
}
