package commands

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/facilityd/facilityd/devices"
)

// ParseValue reads a value to write to pt from JSON (true, 42.5, "on", "night"), in the
// point's engineering units. A bool takes true/false, 0/1 or on/off; an enum its code or
// label; a string fits the point's registers; a number must fit the point's type once scale
// and offset are taken off, and the profile's min and max. Every error says what the point
// takes and wraps ErrValue.
func ParseValue(pt *devices.Point, raw json.RawMessage) (devices.Value, error) {
	raw = bytes.TrimSpace(raw)
	if string(raw) == "null" && pt.IsBACnet() {
		// A BACnet point's null relinquishes this writer's priority (19.2.1.2).
		return devices.Value{Relinquish: true}, nil
	}
	if len(raw) == 0 || string(raw) == "null" {
		return devices.Value{}, fmt.Errorf("%w: \"value\" is missing; point %s takes %s", ErrValue, pt.Name, takes(pt))
	}
	var text string
	isText := json.Unmarshal(raw, &text) == nil
	switch {
	case pt.IsBool():
		return parseBool(pt, raw, text, isText)
	case pt.Type == devices.TypeString:
		return parseString(pt, text, isText)
	case pt.Type == devices.TypeEnum:
		return parseEnum(pt, raw, text, isText)
	}
	var n float64
	if isText {
		var err error
		if n, err = strconv.ParseFloat(strings.TrimSpace(text), 64); err != nil {
			return devices.Value{}, fmt.Errorf("%w: %s is not a number; point %s takes %s", ErrValue, raw, pt.Name, takes(pt))
		}
	} else if err := json.Unmarshal(raw, &n); err != nil {
		return devices.Value{}, fmt.Errorf("%w: %s is not a number; point %s takes %s", ErrValue, raw, pt.Name, takes(pt))
	}
	return checkNumber(pt, n)
}

func parseBool(pt *devices.Point, raw json.RawMessage, text string, isText bool) (devices.Value, error) {
	var b bool
	if json.Unmarshal(raw, &b) == nil {
		return boolValue(b), nil
	}
	if isText {
		switch strings.ToLower(strings.TrimSpace(text)) {
		case "true", "on", "1":
			return boolValue(true), nil
		case "false", "off", "0":
			return boolValue(false), nil
		}
	} else {
		var n float64
		if json.Unmarshal(raw, &n) == nil && (n == 0 || n == 1) {
			return boolValue(n == 1), nil
		}
	}
	return devices.Value{}, fmt.Errorf("%w: %s is not on or off; point %s takes %s", ErrValue, raw, pt.Name, takes(pt))
}

func parseString(pt *devices.Point, text string, isText bool) (devices.Value, error) {
	if !isText {
		return devices.Value{}, fmt.Errorf("%w: point %s takes %s", ErrValue, pt.Name, takes(pt))
	}
	if !pt.IsMQTT() && !pt.IsBACnet() && len(text) > 2*int(pt.Length) {
		return devices.Value{}, fmt.Errorf("%w: %d bytes do not fit point %s, which takes %s", ErrValue, len(text), pt.Name, takes(pt))
	}
	return devices.Value{Text: text}, nil
}

func parseEnum(pt *devices.Point, raw json.RawMessage, text string, isText bool) (devices.Value, error) {
	if isText {
		for code, label := range pt.Enum {
			if strings.EqualFold(label, strings.TrimSpace(text)) {
				return devices.Value{Number: float64(code)}, nil
			}
		}
		if n, err := strconv.Atoi(strings.TrimSpace(text)); err == nil {
			raw = json.RawMessage(strconv.Itoa(n))
		}
	}
	var code int
	if json.Unmarshal(raw, &code) == nil {
		if _, ok := pt.Enum[code]; ok {
			return devices.Value{Number: float64(code)}, nil
		}
	}
	return devices.Value{}, fmt.Errorf("%w: %s is not a code or label of point %s, which takes %s", ErrValue, raw, pt.Name, takes(pt))
}

// checkNumber checks n against the profile's limits and the range of the point's type.
func checkNumber(pt *devices.Point, n float64) (devices.Value, error) {
	if math.IsNaN(n) || math.IsInf(n, 0) {
		return devices.Value{}, fmt.Errorf("%w: point %s takes a finite number", ErrValue, pt.Name)
	}
	if pt.Min != nil && n < *pt.Min || pt.Max != nil && n > *pt.Max {
		return devices.Value{}, fmt.Errorf("%w: %v is outside point %s's limits: %s", ErrValue, n, pt.Name, takes(pt))
	}
	if lo, hi, ok := pt.Type.IntRange(); ok && !pt.IsMQTT() {
		r := math.Round((n - pt.Offset) / pt.Scale)
		if r < lo || r > hi {
			return devices.Value{}, fmt.Errorf("%w: %v does not fit point %s (%s): %s", ErrValue, n, pt.Name, pt.Type, takes(pt))
		}
	}
	return devices.Value{Number: n}, nil
}

// takes says in words what a point accepts, for error messages and the console.
func takes(pt *devices.Point) string {
	switch {
	case pt.IsBool():
		return "true or false (on/off)"
	case pt.Type == devices.TypeString:
		if pt.IsMQTT() || pt.IsBACnet() {
			return "a string"
		}
		return fmt.Sprintf("a string of at most %d bytes", 2*int(pt.Length))
	case pt.Type == devices.TypeEnum:
		var labels []string
		for code, l := range pt.Enum {
			labels = append(labels, fmt.Sprintf("%d %s", code, l))
		}
		slices.Sort(labels)
		return "one of " + strings.Join(labels, ", ")
	}
	lo, hi := math.Inf(-1), math.Inf(1)
	if rlo, rhi, ok := pt.Type.IntRange(); ok && !pt.IsMQTT() {
		lo, hi = rlo*pt.Scale+pt.Offset, rhi*pt.Scale+pt.Offset
		if lo > hi {
			lo, hi = hi, lo
		}
	}
	if pt.Min != nil {
		lo = max(lo, *pt.Min)
	}
	if pt.Max != nil {
		hi = min(hi, *pt.Max)
	}
	unit := ""
	if pt.Unit != "" {
		unit = " " + pt.Unit
	}
	switch {
	case math.IsInf(lo, -1) && math.IsInf(hi, 1):
		return "a number" + unit
	case math.IsInf(hi, 1):
		return fmt.Sprintf("a number from %v%s", lo, unit)
	case math.IsInf(lo, -1):
		return fmt.Sprintf("a number up to %v%s", hi, unit)
	}
	return fmt.Sprintf("a number %v to %v%s", lo, hi, unit)
}

// Matches reports whether a value read back is the value written, to the point's
// resolution: a scaled integer to one step of its scale, a float32 to its precision.
func Matches(pt *devices.Point, wrote, read devices.Value) bool {
	if read.Quality != devices.QualityGood {
		return false
	}
	switch {
	case wrote.Relinquish:
		return true // the next priority's value, or the relinquish default, whatever it is
	case pt.IsBool():
		return (wrote.Number != 0) == (read.Number != 0)
	case pt.Type == devices.TypeString:
		return strings.TrimRight(read.Text, "\x00 ") == strings.TrimRight(wrote.Text, "\x00 ")
	case pt.Type == devices.TypeEnum:
		return wrote.Number == read.Number
	}
	diff := math.Abs(wrote.Number - read.Number)
	if _, _, ok := pt.Type.IntRange(); ok && !pt.IsMQTT() {
		return diff <= math.Abs(pt.Scale)/2
	}
	tol := 1e-9
	if pt.Type == devices.TypeFloat32 {
		tol = 1e-6
	}
	return diff <= tol*math.Max(1, math.Abs(wrote.Number))
}

func boolValue(b bool) devices.Value {
	if b {
		return devices.Value{Number: 1}
	}
	return devices.Value{}
}
