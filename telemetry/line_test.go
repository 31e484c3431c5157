package telemetry

import (
	"math"
	"testing"
	"time"
)

func TestLineString(t *testing.T) {
	t.Parallel()
	at := time.Unix(1700000000, 5)
	cases := []struct {
		name string
		line Line
		want string
	}{
		{name: "sorted tags and typed fields",
			line: Line{Measurement: "alarm", Tags: map[string]string{"site": "s", "device": "P-1", "rule": "pit high"},
				Fields: map[string]any{"active": true, "seq": uint64(7), "message": `say "hi"`, "n": 3, "v": 1.5}, Time: at},
			want: `alarm,device=P-1,rule=pit\ high,site=s active=true,message="say \"hi\"",n=3i,seq=7u,v=1.5 1700000000000000005`},
		{name: "empty tag left out, NaN left out",
			line: Line{Measurement: "workorder", Tags: map[string]string{"zone": "", "team": "a,b"},
				Fields: map[string]any{"x": math.NaN(), "id": "WO-1"}, Time: at},
			want: `workorder,team=a\,b id="WO-1" 1700000000000000005`},
		{name: "no field is no line",
			line: Line{Measurement: "alarm", Fields: map[string]any{"x": math.Inf(1), "nil": nil}, Time: at}, want: ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := tc.line.String(); got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}
