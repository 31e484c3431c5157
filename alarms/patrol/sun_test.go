package patrol

import (
	"testing"
	"time"
)

// Published sunset times (timeanddate.com, NOAA's solar calculator) for known places.
func TestSunset(t *testing.T) {
	t.Parallel()
	zone := func(name string) *time.Location {
		l, err := time.LoadLocation(name)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	tests := []struct {
		name     string
		date     time.Time
		lat, lon float64
		want     string // local HH:MM
	}{
		{"London, summer solstice", time.Date(2024, 6, 21, 12, 0, 0, 0, zone("Europe/London")), 51.5074, -0.1278, "21:21"},
		{"New York, winter solstice", time.Date(2024, 12, 21, 12, 0, 0, 0, zone("America/New_York")), 40.7128, -74.0060, "16:32"},
		{"Shanghai, summer solstice", time.Date(2024, 6, 21, 12, 0, 0, 0, zone("Asia/Shanghai")), 31.2304, 121.4737, "19:01"},
		{"Honolulu: sunset falls on the next UTC day", time.Date(2024, 6, 21, 12, 0, 0, 0, zone("Pacific/Honolulu")), 21.3069, -157.8583, "19:17"},
		{"Sydney, June", time.Date(2024, 6, 21, 12, 0, 0, 0, zone("Australia/Sydney")), -33.8688, 151.2093, "16:54"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := Sunset(tt.date, tt.lat, tt.lon)
			if !ok {
				t.Fatal("no sunset")
			}
			want, _ := time.ParseInLocation("2006-01-02 15:04", tt.date.Format("2006-01-02 ")+tt.want, tt.date.Location())
			if d := got.Sub(want); d > 3*time.Minute || d < -3*time.Minute {
				t.Errorf("sunset %s, published %s", got.Format("2006-01-02 15:04:05 MST"), tt.want)
			}
		})
	}
	if _, ok := Sunset(time.Date(2024, 6, 21, 12, 0, 0, 0, time.UTC), 78.22, 15.65); ok {
		t.Error("Longyearbyen at midsummer: the sun does not set")
	}
}
