package mqtt

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/facilityd/facilityd/devices"
)

// ErrWrongType is the error of a point whose JSON value is not of the point's type.
var ErrWrongType = errors.New("wrong JSON type")

// parse decodes a payload with numbers kept exact (json.Number), so that integers beyond 2^53
// are not silently rounded.
func parse(payload []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, errors.New("data after the JSON value")
	}
	return doc, nil
}

// Decode reads one point's JSON value as the profile types it: bool from true/false, numbers
// from JSON numbers (integers must be whole and in range; scale and offset applied), strings
// from strings, enum codes from whole numbers or from one of the point's labels.
func Decode(p *devices.Point, raw any) (devices.Value, error) {
	switch p.Type {
	case devices.TypeBool:
		b, ok := raw.(bool)
		if !ok {
			return devices.Value{}, fmt.Errorf("%w: %s wants true or false, got %s", ErrWrongType, p.Name, describe(raw))
		}
		if b {
			return devices.Value{Number: 1}, nil
		}
		return devices.Value{}, nil
	case devices.TypeString:
		s, ok := raw.(string)
		if !ok {
			return devices.Value{}, fmt.Errorf("%w: %s wants a string, got %s", ErrWrongType, p.Name, describe(raw))
		}
		return devices.Value{Text: s}, nil
	case devices.TypeEnum:
		if s, ok := raw.(string); ok {
			for code, label := range p.Enum {
				if strings.EqualFold(label, s) {
					return devices.Value{Number: float64(code)}, nil
				}
			}
			return devices.Value{}, fmt.Errorf("%w: %s: %q is none of its labels", ErrWrongType, p.Name, s)
		}
	}
	n, ok := raw.(json.Number)
	if !ok {
		return devices.Value{}, fmt.Errorf("%w: %s wants a number, got %s", ErrWrongType, p.Name, describe(raw))
	}
	f, err := n.Float64()
	if err != nil || math.IsInf(f, 0) {
		return devices.Value{}, fmt.Errorf("%w: %s: %s is out of range", ErrWrongType, p.Name, n)
	}
	if lo, hi, integer := intRange(p.Type); integer {
		if f != math.Trunc(f) || f < lo || f > hi {
			return devices.Value{}, fmt.Errorf("%w: %s: %s is not a whole number in the range of %s", ErrWrongType, p.Name, n, p.Type)
		}
		if p.Type == devices.TypeEnum {
			return devices.Value{Number: f}, nil
		}
	}
	if p.Type == devices.TypeFloat32 {
		f = float64(float32(f))
	}
	return devices.Value{Number: f*p.Scale + p.Offset}, nil
}

// Encode is the inverse of Decode: the JSON value a device publishes for v.
func Encode(p *devices.Point, v devices.Value) any {
	switch p.Type {
	case devices.TypeBool, devices.TypeBit:
		return v.Number != 0
	case devices.TypeString:
		return v.Text
	case devices.TypeEnum:
		return int64(v.Number)
	}
	raw := (v.Number - p.Offset) / p.Scale
	if _, _, integer := intRange(p.Type); integer {
		return int64(math.Round(raw))
	}
	if p.Type == devices.TypeFloat32 {
		return float64(float32(raw))
	}
	return raw
}

func intRange(t devices.Type) (lo, hi float64, ok bool) {
	switch t {
	case devices.TypeInt16:
		return math.MinInt16, math.MaxInt16, true
	case devices.TypeUint16, devices.TypeEnum:
		return 0, math.MaxUint16, true
	case devices.TypeInt32:
		return math.MinInt32, math.MaxInt32, true
	case devices.TypeUint32:
		return 0, math.MaxUint32, true
	case devices.TypeInt64:
		return math.MinInt64, math.MaxInt64, true
	case devices.TypeUint64:
		return 0, math.MaxUint64, true
	}
	return 0, 0, false
}

func describe(raw any) string {
	switch v := raw.(type) {
	case nil:
		return "null"
	case bool:
		return "a bool"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	default:
		return fmt.Sprintf("%T", v)
	}
}

// parseTime reads a payload timestamp: RFC 3339 text, or epoch milliseconds.
func parseTime(raw any) (time.Time, error) {
	switch v := raw.(type) {
	case string:
		return time.Parse(time.RFC3339Nano, v)
	case json.Number:
		ms, err := strconv.ParseInt(string(v), 10, 64)
		if err != nil {
			f, ferr := v.Float64()
			if ferr != nil {
				return time.Time{}, err
			}
			ms = int64(f)
		}
		return time.UnixMilli(ms), nil
	}
	return time.Time{}, fmt.Errorf("want RFC 3339 text or epoch milliseconds, got %s", describe(raw))
}

// decodePayload fills values from a payload. It returns the payload's time (zero if the
// profile names none or it cannot be read) and an error if the payload is not JSON; a point
// that is absent or of the wrong type is QualityBad and reported in pointErr.
func decodePayload(prof *devices.Profile, payload []byte, values []devices.Value) (ts time.Time, pointErr, err error) {
	doc, err := parse(payload)
	if err != nil {
		return time.Time{}, nil, err
	}
	if _, isObject := doc.(map[string]any); !isObject {
		return time.Time{}, nil, fmt.Errorf("payload is %s, not a JSON object", describe(doc))
	}
	var bad []error
	for i := range prof.Points {
		p := &prof.Points[i]
		raw, ok := devices.Lookup(doc, p.Path)
		if !ok {
			values[i] = devices.Value{Quality: devices.QualityBad}
			bad = append(bad, fmt.Errorf("%s: path %s not in payload", p.Name, p.Path))
			continue
		}
		v, err := Decode(p, raw)
		if err != nil {
			values[i] = devices.Value{Quality: devices.QualityBad}
			bad = append(bad, err)
			continue
		}
		values[i] = v
	}
	if prof.TimePath != "" {
		if raw, ok := devices.Lookup(doc, prof.TimePath); ok {
			t, terr := parseTime(raw)
			if terr != nil {
				bad = append(bad, fmt.Errorf("time_path %s: %v", prof.TimePath, terr))
			} else {
				ts = t
			}
		}
	}
	return ts, errors.Join(bad...), nil
}

// RoundTrip is v as a reader of its JSON would see it: Encode, through JSON text, then Decode.
// Simulators store values this way so that they agree with the driver by construction.
func RoundTrip(p *devices.Point, v devices.Value) devices.Value {
	text, err := json.Marshal(Encode(p, v))
	if err != nil {
		return devices.Value{Quality: devices.QualityBad}
	}
	raw, err := parse(text)
	if err != nil {
		return devices.Value{Quality: devices.QualityBad}
	}
	out, err := Decode(p, raw)
	if err != nil {
		return devices.Value{Quality: devices.QualityBad}
	}
	return out
}
