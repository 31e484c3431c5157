package devices

import (
	"math"
	"strconv"
)

// AppendNumber appends v exactly as strconv.AppendFloat(dst, v, 'g', -1, 64) does, the form
// line protocol and the telemetry JSON write numbers in, with a fast path for the whole numbers
// most registers hold: below a million in magnitude 'g' writes them as plain integers, and
// formatting an integer costs a fifth of the float's shortest-digits search.
func AppendNumber(dst []byte, v float64) []byte {
	if v > -1e6 && v < 1e6 && v == math.Trunc(v) && (v != 0 || !math.Signbit(v)) {
		return strconv.AppendInt(dst, int64(v), 10)
	}
	return strconv.AppendFloat(dst, v, 'g', -1, 64)
}
