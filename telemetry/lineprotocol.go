package telemetry

import (
	"errors"
	"math"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/facilityd/facilityd/devices"
)

// ErrInvalidSnapshot is returned by AppendSnapshot for a snapshot that names no device: there
// is no measurement or tag to write it under.
var ErrInvalidSnapshot = errors.New("snapshot has no device")

// FieldCommOK is the boolean field every line carries: true for a successful poll, false for a
// failed one, so a gap in the data can be told from a device that was not answering.
const FieldCommOK = "comm_ok"

// Line protocol timestamps are int64 nanoseconds since the epoch, which covers 1677-09-21 to
// 2262-04-11. A time outside that range (or the zero time) is written without a timestamp.
var (
	minTimestamp = time.Unix(0, math.MinInt64)
	maxTimestamp = time.Unix(0, math.MaxInt64)
)

// AppendSnapshot appends the line protocol of one poll to dst as one newline-terminated line:
//
//	<kind>,building=..,device=..,site=..,zone=.. <point>=<value>,...,comm_ok=true <unix ns>
//
// Bool and bit points are written as booleans, enum points as integers, string points as
// strings and every other point as a float, so a point keeps one field type for its whole
// life (InfluxDB rejects a line whose field changes type). Only values of good quality are
// written; a failed poll (Err set or no Values) writes comm_ok=false alone. Tags with an empty
// value are left out.
//
// Line protocol has no representation for NaN or ±Inf: such values are left out and counted
// in skipped, as are enum codes beyond int64 and points named "time" or comm_ok, which
// InfluxDB would refuse or confuse with the comm_ok field. AppendSnapshot never fails on a
// snapshot with a device; dst is returned unchanged with ErrInvalidSnapshot otherwise.
func AppendSnapshot(dst []byte, s *devices.Snapshot) (out []byte, skipped int, err error) {
	if s == nil || s.Device == nil {
		return dst, 0, ErrInvalidSnapshot
	}
	d := s.Device
	kind := string(d.Kind)
	if kind == "" {
		kind = string(devices.KindGeneric)
	}
	dst = appendMeasurement(dst, kind)
	// Tags in the order of their keys, which is the order InfluxDB stores them in.
	dst = appendTag(dst, "building", d.Building)
	dst = appendTag(dst, "device", d.ID)
	dst = appendTag(dst, "site", d.Site)
	dst = appendTag(dst, "zone", d.Zone)
	dst = append(dst, ' ')

	ok := s.Err == nil && s.Values != nil
	if ok && d.Profile != nil {
		points := d.Profile.Points
		n := min(len(s.Values), len(points))
		for i := 0; i < n; i++ {
			v := &s.Values[i]
			if v.Quality != devices.QualityGood {
				continue
			}
			p := &points[i]
			if p.Name == "" || p.Name == "time" || p.Name == FieldCommOK {
				skipped++
				continue
			}
			mark := len(dst)
			dst = appendKey(dst, p.Name)
			dst = append(dst, '=')
			var good bool
			dst, good = appendValue(dst, p, v)
			if !good {
				dst = dst[:mark]
				skipped++
				continue
			}
			dst = append(dst, ',')
		}
	}
	dst = append(dst, FieldCommOK...)
	if ok {
		dst = append(dst, "=true"...)
	} else {
		dst = append(dst, "=false"...)
	}

	if t := s.Time; !t.IsZero() && !t.Before(minTimestamp) && !t.After(maxTimestamp) {
		dst = append(dst, ' ')
		dst = strconv.AppendInt(dst, t.UnixNano(), 10)
	}
	dst = append(dst, '\n')
	return dst, skipped, nil
}

// appendValue appends the field value of v as p's type asks, or reports false if line
// protocol cannot hold it.
func appendValue(dst []byte, p *devices.Point, v *devices.Value) ([]byte, bool) {
	switch {
	case p.IsBool():
		if math.IsNaN(v.Number) {
			return dst, false
		}
		if v.Number != 0 {
			return append(dst, "true"...), true
		}
		return append(dst, "false"...), true
	case p.Type == devices.TypeString:
		return appendStringValue(dst, v.Text), true
	case p.Type == devices.TypeEnum:
		// -2^63 is exact in float64; 2^63 is the first value past int64.
		if !(v.Number >= math.MinInt64 && v.Number < math.MaxInt64) {
			return dst, false
		}
		dst = strconv.AppendInt(dst, int64(v.Number), 10)
		return append(dst, 'i'), true
	}
	if math.IsNaN(v.Number) || math.IsInf(v.Number, 0) {
		return dst, false
	}
	// An unsuffixed number is a float in line protocol, so 12 is the float 12; large and small
	// magnitudes come out in exponent form (1e+21), which InfluxDB parses as a float too.
	return devices.AppendNumber(dst, v.Number), true
}

// appendTag appends ",key=value" unless value is empty: InfluxDB refuses empty tag values.
func appendTag(dst []byte, key, value string) []byte {
	if value == "" {
		return dst
	}
	dst = append(dst, ',')
	dst = appendKey(dst, key)
	dst = append(dst, '=')
	return appendKey(dst, value)
}

// appendMeasurement escapes a measurement name: commas and spaces.
func appendMeasurement(dst []byte, s string) []byte { return appendEscaped(dst, s, false) }

// appendKey escapes a tag key, tag value or field key: commas, spaces and equals signs.
func appendKey(dst []byte, s string) []byte { return appendEscaped(dst, s, true) }

// appendEscaped writes s with the line protocol escapes for names. Control characters cannot
// be carried at all (a newline would end the line), so they are written as an escaped space.
// A backslash is doubled where it would otherwise escape the character after it (one of ours,
// or the separator that follows s): InfluxDB 2.x reads "\\" back as "\", and 1.x keeps the line
// intact.
func appendEscaped(dst []byte, s string, equals bool) []byte {
	if !needsEscape(s, equals) {
		return append(dst, s...)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ',' || c == ' ' || (equals && c == '='):
			dst = append(dst, '\\', c)
		case c < 0x20 || c == 0x7f:
			dst = append(dst, '\\', ' ')
		case c == '\\':
			if i+1 == len(s) || specialName(s[i+1], equals) {
				dst = append(dst, '\\', '\\')
			} else {
				dst = append(dst, '\\')
			}
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

func needsEscape(s string, equals bool) bool {
	for i := 0; i < len(s); i++ {
		if specialName(s[i], equals) {
			return true
		}
	}
	return false
}

func specialName(c byte, equals bool) bool {
	return c == ',' || c == ' ' || c < 0x20 || c == 0x7f || c == '\\' || (equals && c == '=')
}

// appendStringValue writes s as a quoted string field value: double quotes and backslashes are
// escaped; invalid UTF-8 (a device's uninitialised registers) becomes U+FFFD.
func appendStringValue(dst []byte, s string) []byte {
	dst = append(dst, '"')
	valid := utf8.ValidString(s)
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf || valid {
			if c == '"' || c == '\\' {
				dst = append(dst, '\\')
			}
			dst = append(dst, c)
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		dst = utf8.AppendRune(dst, r) // RuneError for an invalid byte
		i += size
	}
	return append(dst, '"')
}
