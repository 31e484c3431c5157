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

// The words a bool point reads as true and as false unless its profile gives its own (any
// case). They are the states building devices publish as text: relays and switches (ON/OFF),
// contacts and valves (open/closed), inputs (active/inactive).
var (
	DefaultTrueWords  = []string{"on", "true", "yes", "open", "active"}
	DefaultFalseWords = []string{"off", "false", "no", "closed", "inactive"}
)

// Decode reads one point's JSON value as the profile types it. A bool point takes true/false,
// 0/1 (number or text), and the point's words (DefaultTrueWords, DefaultFalseWords unless the
// profile gives its own); numbers come from JSON numbers or numeric text (integers must be
// whole and in range; scale and offset applied); strings from any scalar; enum codes from the
// point's map words, its labels, or a whole number.
func Decode(p *devices.Point, raw any) (devices.Value, error) {
	if f, ok := raw.(float64); ok {
		raw = json.Number(strconv.FormatFloat(f, 'g', -1, 64))
	}
	switch p.Type {
	case devices.TypeBool:
		return decodeBool(p, raw)
	case devices.TypeString:
		switch v := raw.(type) {
		case string:
			return devices.Value{Text: v}, nil
		case json.Number:
			return devices.Value{Text: v.String()}, nil
		case bool:
			return devices.Value{Text: strconv.FormatBool(v)}, nil
		}
		return devices.Value{}, fmt.Errorf("%w: %s wants a string, got %s", ErrWrongType, p.Name, describe(raw))
	case devices.TypeEnum:
		if s, ok := raw.(string); ok {
			word := strings.TrimSpace(s)
			for w, code := range p.Map {
				if strings.EqualFold(strings.TrimSpace(w), word) {
					return devices.Value{Number: float64(code)}, nil
				}
			}
			for code, label := range p.Enum {
				if strings.EqualFold(strings.TrimSpace(label), word) {
					return devices.Value{Number: float64(code)}, nil
				}
			}
			if !isNumber(word) {
				return devices.Value{}, fmt.Errorf("%w: %s: %q is none of its labels%s", ErrWrongType, p.Name, s, mapNote(p))
			}
		}
	}
	n, err := number(p, raw)
	if err != nil {
		return devices.Value{}, err
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
		if math.IsInf(f, 0) {
			return devices.Value{}, fmt.Errorf("%w: %s: %s is out of the range of float32", ErrWrongType, p.Name, n)
		}
	}
	v := f*p.Scale + p.Offset
	if math.IsInf(v, 0) {
		return devices.Value{}, fmt.Errorf("%w: %s: %s scaled is out of range", ErrWrongType, p.Name, n)
	}
	return devices.Value{Number: v}, nil
}

func mapNote(p *devices.Point) string {
	if len(p.Map) == 0 {
		return ""
	}
	return " or map words"
}

// number is raw as a JSON number: a number, or text that is one ("23.5", " 7 ").
func number(p *devices.Point, raw any) (json.Number, error) {
	switch v := raw.(type) {
	case json.Number:
		return v, nil
	case string:
		if t := strings.TrimSpace(v); isNumber(t) {
			return json.Number(t), nil
		}
		return "", fmt.Errorf("%w: %s: %q is not a number", ErrWrongType, p.Name, truncateString(v))
	}
	return "", fmt.Errorf("%w: %s wants a number, got %s", ErrWrongType, p.Name, describe(raw))
}

// isNumber reports whether s is a number in JSON's grammar (no hex, no NaN, no "1_000").
func isNumber(s string) bool {
	if s == "" || (s[0] != '-' && (s[0] < '0' || s[0] > '9')) {
		return false
	}
	return json.Valid([]byte(s))
}

func decodeBool(p *devices.Point, raw any) (devices.Value, error) {
	yes, no := DefaultTrueWords, DefaultFalseWords
	if len(p.True) != 0 {
		yes, no = p.True, p.False
	}
	switch v := raw.(type) {
	case bool:
		return boolValue(v), nil
	case json.Number:
		switch v.String() {
		case "0", "0.0", "-0":
			return boolValue(false), nil
		case "1", "1.0":
			return boolValue(true), nil
		}
		if f, err := v.Float64(); err == nil && (f == 0 || f == 1) {
			return boolValue(f == 1), nil
		}
		return devices.Value{}, fmt.Errorf("%w: %s wants 0 or 1, got %s", ErrWrongType, p.Name, v)
	case string:
		word := strings.TrimSpace(v)
		switch {
		case word == "1" || hasWord(yes, word):
			return boolValue(true), nil
		case word == "0" || hasWord(no, word):
			return boolValue(false), nil
		}
		return devices.Value{}, fmt.Errorf("%w: %s: %q is none of %s (true) or %s (false)", ErrWrongType, p.Name,
			truncateString(v), strings.Join(yes, "/"), strings.Join(no, "/"))
	}
	return devices.Value{}, fmt.Errorf("%w: %s wants true or false, got %s", ErrWrongType, p.Name, describe(raw))
}

func hasWord(words []string, w string) bool {
	for _, x := range words {
		if strings.EqualFold(strings.TrimSpace(x), w) {
			return true
		}
	}
	return false
}

func boolValue(b bool) devices.Value {
	if b {
		return devices.Value{Number: 1}
	}
	return devices.Value{}
}

func truncateString(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
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

// intRange is the range of an integer point's value; an enum's code is a uint16.
func intRange(t devices.Type) (lo, hi float64, ok bool) {
	if t == devices.TypeEnum {
		return 0, math.MaxUint16, true
	}
	return t.IntRange()
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

// TimeRules say how to read a device's payload times.
type TimeRules struct {
	// Unit of epoch numbers; empty infers it from the magnitude.
	Unit devices.TimeUnit
	// Location of times written without an offset.
	Location *time.Location
}

// Layouts of payload times without an offset, read in TimeRules.Location. Fractional seconds
// are accepted after the seconds of each (time.Parse does so by itself).
var localLayouts = []string{"2006-01-02T15:04:05", "2006-01-02 15:04:05"}

// ParseTime reads a payload timestamp: RFC 3339 text with an offset; the same, or
// "2006-01-02 15:04:05", without one (in rules.Location); or an epoch number, or numeric text,
// in rules.Unit (or inferred: below 1e11 seconds, 1e14 milliseconds, 1e17 microseconds, else
// nanoseconds).
func ParseTime(raw any, rules TimeRules) (time.Time, error) {
	t, err := parseTime(raw, rules)
	if err == nil && (t.Before(minTime) || t.After(maxTime)) {
		return time.Time{}, fmt.Errorf("%v is outside the years 1678-2261 a time series can hold", raw)
	}
	return t, err
}

// The range of InfluxDB's nanosecond timestamps (int64), in whole years.
var (
	minTime = time.Date(1678, 1, 1, 0, 0, 0, 0, time.UTC)
	maxTime = time.Date(2262, 1, 1, 0, 0, 0, 0, time.UTC)
)

func parseTime(raw any, rules TimeRules) (time.Time, error) {
	switch v := raw.(type) {
	case string:
		s := strings.TrimSpace(v)
		if isNumber(s) {
			return epoch(json.Number(s), rules.Unit)
		}
		if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
			return t, nil
		}
		if t, err := time.Parse("2006-01-02 15:04:05Z07:00", s); err == nil {
			return t, nil
		}
		loc := rules.Location
		if loc == nil {
			loc = time.Local
		}
		for _, layout := range localLayouts {
			if t, err := time.ParseInLocation(layout, s, loc); err == nil {
				return t, nil
			}
		}
		return time.Time{}, fmt.Errorf("%q is not RFC 3339 (2026-11-29T09:41:00+08:00, with or without the offset), 2006-01-02 15:04:05 or an epoch number", truncateString(v))
	case json.Number:
		return epoch(v, rules.Unit)
	case float64:
		return epoch(json.Number(strconv.FormatFloat(v, 'f', -1, 64)), rules.Unit)
	}
	return time.Time{}, fmt.Errorf("want time text or an epoch number, got %s", describe(raw))
}

// epoch reads an epoch number in unit, or in the unit its magnitude suggests.
func epoch(n json.Number, unit devices.TimeUnit) (time.Time, error) {
	f, err := n.Float64()
	if err != nil || math.IsInf(f, 0) {
		return time.Time{}, fmt.Errorf("epoch %s is out of range", n)
	}
	if unit == "" {
		switch a := math.Abs(f); {
		case a < 1e11:
			unit = devices.UnitSeconds
		case a < 1e14:
			unit = devices.UnitMilliseconds
		case a < 1e17:
			unit = devices.UnitMicroseconds
		default:
			unit = devices.UnitNanoseconds
		}
	}
	per := unit.Duration()
	whole, frac, hasFrac := strings.Cut(n.String(), ".")
	if i, err := strconv.ParseInt(whole, 10, 64); err == nil && !strings.ContainsAny(frac, "eE") {
		// Decimal text exactly, to the nanosecond: a float64 of epoch nanoseconds is not.
		perSecond := int64(time.Second / per)
		t := time.Unix(i/perSecond, (i%perSecond)*int64(per))
		if hasFrac {
			digits := (frac + "000000000")[:9]
			part, _ := strconv.ParseInt(digits, 10, 64) // nine digits: at most 999999999
			ns := part * int64(per) / int64(time.Second)
			if strings.HasPrefix(whole, "-") {
				ns = -ns
			}
			t = t.Add(time.Duration(ns))
		}
		return t, nil
	}
	ns := f * float64(per)
	if math.Abs(ns) >= 9.2e18 {
		return time.Time{}, fmt.Errorf("epoch %s %s is out of range", n, unit)
	}
	return time.Unix(0, int64(ns)), nil
}

// decodePayload fills the values of the points located by JSON path from a payload (points
// with a topic of their own are left as they are). It returns the payload's time (zero if the
// profile names none or it cannot be read) and an error if the payload is not a JSON object; a
// point that is absent or cannot be read as its type is QualityBad and reported in pointErr.
func decodePayload(prof *devices.Profile, payload []byte, values []devices.Value, rules TimeRules) (ts time.Time, pointErr, err error) {
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
		if !p.IsJSON() {
			continue
		}
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
			t, terr := ParseTime(raw, rules)
			if terr != nil {
				bad = append(bad, fmt.Errorf("time_path %s: %v", prof.TimePath, terr))
			} else {
				ts = t
			}
		}
	}
	return ts, errors.Join(bad...), nil
}

// plainValue reads the payload of a point's own topic: a JSON scalar (23.5, true, "ON") as
// JSON reads it, anything else as its text (ON, open, 23.5 °C is text and so not a number).
func plainValue(payload []byte) any {
	text := strings.TrimSpace(string(payload))
	if doc, err := parse([]byte(text)); err == nil {
		return doc
	}
	return text
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
