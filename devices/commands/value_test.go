package commands

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/facilityd/facilityd/devices"
)

// What an engineer may send for each kind of point, and what is refused with 422.
func TestParseValue(t *testing.T) {
	t.Parallel()
	lo, hi := 0.0, 1439.0
	coil := &devices.Point{Name: "c", Table: devices.TableCoil, Type: devices.TypeBool, Scale: 1, Writable: true}
	sched := &devices.Point{Name: "on_time", Table: devices.TableHolding, Type: devices.TypeUint16, Scale: 1, Writable: true, Min: &lo, Max: &hi}
	scaled := &devices.Point{Name: "sp", Table: devices.TableHolding, Type: devices.TypeInt16, Scale: 0.1, Writable: true}
	enum := &devices.Point{Name: "mode", Table: devices.TableHolding, Type: devices.TypeEnum, Scale: 1, Enum: map[int]string{0: "auto", 1: "manual"}, Writable: true}
	str := &devices.Point{Name: "tag", Table: devices.TableHolding, Type: devices.TypeString, Length: 2, Scale: 1, Writable: true}
	for _, tt := range []struct {
		name  string
		pt    *devices.Point
		value string
		want  float64
		text  string
		bad   bool
	}{
		{"bool true", coil, `true`, 1, "", false},
		{"bool on", coil, `"on"`, 1, "", false},
		{"bool 0", coil, `0`, 0, "", false},
		{"bool 2", coil, `2`, 0, "", true},
		{"bool word", coil, `"bright"`, 0, "", true},
		{"schedule", sched, `1080`, 1080, "", false},
		{"schedule as text", sched, `"360"`, 360, "", false},
		{"above max", sched, `1440`, 0, "", true},
		{"below min", sched, `-1`, 0, "", true},
		{"scaled in range", scaled, `-12.5`, -12.5, "", false},
		{"scaled past int16", scaled, `3276.8`, 0, "", true},
		{"enum label", enum, `"manual"`, 1, "", false},
		{"enum code", enum, `0`, 0, "", false},
		{"enum unknown", enum, `7`, 0, "", true},
		{"string fits", str, `"AB12"`, 0, "AB12", false},
		{"string too long", str, `"ABCDE"`, 0, "", true},
		{"missing", coil, ``, 0, "", true},
		{"null", sched, `null`, 0, "", true},
		{"object", sched, `{"a":1}`, 0, "", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			v, err := ParseValue(tt.pt, json.RawMessage(tt.value))
			if tt.bad {
				if !errors.Is(err, ErrValue) {
					t.Fatalf("ParseValue(%s) = %+v, %v; want ErrValue", tt.value, v, err)
				}
				return
			}
			if err != nil || v.Number != tt.want || v.Text != tt.text {
				t.Fatalf("ParseValue(%s) = %+v, %v; want %v %q", tt.value, v, err, tt.want, tt.text)
			}
			if !Matches(tt.pt, v, v) {
				t.Errorf("a value does not match itself read back")
			}
		})
	}
	// A scaled register read back one step off is a mismatch.
	if Matches(scaled, devices.Value{Number: 12.5}, devices.Value{Number: 12.6}) {
		t.Error("12.6 read back matches 12.5 written at scale 0.1")
	}
}
