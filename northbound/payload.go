package northbound

import (
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/facilityd/facilityd/devices"
)

// AppendPayload appends the JSON of NewPayload(s) to dst without building the maps: with a
// message for every poll of every device, encoding through reflection and sorted maps was most
// of what northbound telemetry cost. Keys come in the profile's order; the document decodes to
// the same Payload.
func AppendPayload(dst []byte, s *devices.Snapshot) []byte {
	d := s.Device
	dst = append(dst, `{"device":`...)
	dst = appendJSONString(dst, d.ID)
	dst = append(dst, `,"kind":`...)
	dst = appendJSONString(dst, string(d.Kind))
	if d.Building != "" {
		dst = append(dst, `,"building":`...)
		dst = appendJSONString(dst, d.Building)
	}
	if d.Zone != "" {
		dst = append(dst, `,"zone":`...)
		dst = appendJSONString(dst, d.Zone)
	}
	dst = append(dst, `,"time":"`...)
	dst = s.Time.UTC().AppendFormat(dst, time.RFC3339Nano)
	dst = append(dst, `","comm":`...)
	dst = appendJSONString(dst, s.Comm.String())
	dst = append(dst, `,"values":`...)
	dst, _ = appendObject(dst, s, func(v devices.Value, pt *devices.Point) bool { return v.Quality == devices.QualityGood },
		func(dst []byte, v devices.Value, pt *devices.Point) []byte {
			switch {
			case pt.IsBool():
				return strconv.AppendBool(dst, v.Number != 0)
			case pt.Type == devices.TypeString:
				return appendJSONString(dst, v.Text)
			case pt.Type == devices.TypeEnum:
				return strconv.AppendInt(dst, int64(v.Number), 10)
			}
			return devices.AppendNumber(dst, v.Number)
		})
	// labels and bad appear only when they have members: cut them back out when empty.
	mark := len(dst)
	dst = append(dst, `,"labels":`...)
	dst, n := appendObject(dst, s,
		func(v devices.Value, pt *devices.Point) bool {
			return v.Quality == devices.QualityGood && pt.Type == devices.TypeEnum
		},
		func(dst []byte, v devices.Value, pt *devices.Point) []byte { return appendJSONString(dst, pt.Label(v)) })
	if n == 0 {
		dst = dst[:mark]
	}
	mark = len(dst)
	dst = append(dst, `,"bad":`...)
	dst, n = appendObject(dst, s, func(v devices.Value, pt *devices.Point) bool { return v.Quality != devices.QualityGood },
		func(dst []byte, v devices.Value, pt *devices.Point) []byte {
			return appendJSONString(dst, v.Quality.String())
		})
	if n == 0 {
		dst = dst[:mark]
	}
	if s.Err != nil {
		dst = append(dst, `,"error":`...)
		dst = appendJSONString(dst, s.Err.Error())
	}
	return append(dst, '}')
}

// appendObject writes {"point": value, ...} for the snapshot's points that keep selects, in
// profile order, and says how many it wrote.
func appendObject(dst []byte, s *devices.Snapshot, keep func(devices.Value, *devices.Point) bool,
	value func([]byte, devices.Value, *devices.Point) []byte) ([]byte, int) {
	points := s.Device.Profile.Points
	dst = append(dst, '{')
	n := 0
	for i := range s.Values {
		if i >= len(points) {
			break
		}
		v, pt := s.Values[i], &points[i]
		if !keep(v, pt) {
			continue
		}
		if n > 0 {
			dst = append(dst, ',')
		}
		n++
		dst = appendJSONString(dst, pt.Name)
		dst = append(dst, ':')
		dst = value(dst, v, pt)
	}
	return append(dst, '}'), n
}

const hexDigits = "0123456789abcdef"

// appendJSONString writes s as a JSON string: quotes, backslashes and control characters
// escaped, invalid UTF-8 as U+FFFD.
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				dst = append(dst, '\\', c)
			case c < 0x20:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			default:
				dst = append(dst, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, `\ufffd`...)
		} else {
			dst = append(dst, s[i:i+size]...)
		}
		i += size
	}
	return append(dst, '"')
}
