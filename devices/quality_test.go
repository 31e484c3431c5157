package devices

import (
	"encoding/json"
	"testing"
	"time"
)

// TestUncertainReadingKeepsItsValue: an uncertain value (an OPC UA Uncertain status) is shown
// with its value and named uncertain in the API's JSON, where a bad one has no value; the name
// reads back.
func TestUncertainReadingKeepsItsValue(t *testing.T) {
	p := testProfile(t)
	dev := &Device{ID: "D", Profile: p}
	values := make([]Value, len(p.Points))
	values[0] = Value{Number: 4.2, Quality: QualityUncertain}
	values[1] = Value{Number: 1, Quality: QualityBad}
	r := (&Snapshot{Device: dev, Time: time.Unix(0, 0), Values: values}).Readings()
	b, _ := json.Marshal(r[0])
	var got struct {
		Value   any
		Quality string
	}
	if err := json.Unmarshal(b, &got); err != nil || got.Value != 4.2 || got.Quality != "uncertain" {
		t.Errorf("uncertain pressure reads %s, want value 4.2, quality uncertain", b)
	}
	if r[1].Value != nil || r[1].Quality != QualityBad {
		t.Errorf("bad running reads %+v, want no value", r[1])
	}
	var q Quality
	if err := q.UnmarshalText([]byte("uncertain")); err != nil || q != QualityUncertain {
		t.Errorf("uncertain reads back as %v, %v", q, err)
	}
}
