package telemetry

import (
	"math"
	"sort"
	"strconv"
	"time"
)

// Line is one record that is not a reading (an alarm transition, a work-order event), for
// Writer.EnqueueLine: a measurement, tags, fields of the Go types bool, string, int, int64 and
// float64, and the record's time.
type Line struct {
	Measurement string
	Tags        map[string]string
	Fields      map[string]any
	Time        time.Time
}

// String encodes the line in line protocol with the same escaping as readings: tags and fields
// sorted by key, empty tags left out, nil fields and non-finite floats left out. A line with no
// field left is "" (InfluxDB refuses it).
func (l Line) String() string {
	b := appendMeasurement(nil, l.Measurement)
	keys := make([]string, 0, len(l.Tags))
	for k := range l.Tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		b = appendTag(b, k, l.Tags[k])
	}
	keys = keys[:0]
	for k := range l.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	sep := byte(' ')
	n := 0
	for _, k := range keys {
		start := len(b)
		b = append(b, sep)
		b = appendKey(b, k)
		b = append(b, '=')
		switch v := l.Fields[k].(type) {
		case bool:
			b = strconv.AppendBool(b, v)
		case string:
			b = appendStringValue(b, v)
		case int:
			b = append(strconv.AppendInt(b, int64(v), 10), 'i')
		case int64:
			b = append(strconv.AppendInt(b, v, 10), 'i')
		case uint64:
			b = append(strconv.AppendUint(b, v, 10), 'u')
		case float64:
			if math.IsNaN(v) || math.IsInf(v, 0) {
				b = b[:start]
				continue
			}
			b = strconv.AppendFloat(b, v, 'g', -1, 64)
		default:
			b = b[:start]
			continue
		}
		sep = ','
		n++
	}
	if n == 0 {
		return ""
	}
	b = append(b, ' ')
	b = strconv.AppendInt(b, l.Time.UnixNano(), 10)
	return string(b)
}
