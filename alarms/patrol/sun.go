package patrol

import (
	"math"
	"time"
)

// Sunset is the time the sun sets on the given local date at latitude and longitude (degrees,
// north and east positive), after NOAA's "General Solar Position Calculations" (fractional
// year, equation of time, declination; zenith 90.833° for refraction and the solar disc). It
// is good to a minute or two away from the poles; ok is false where the sun does not set.
func Sunset(date time.Time, lat, lon float64) (time.Time, bool) {
	y, m, d := date.Date()
	noonUTC := time.Date(y, m, d, 12, 0, 0, 0, time.UTC)
	daysInYear := 365.0
	if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
		daysInYear = 366
	}
	gamma := 2 * math.Pi / daysInYear * float64(noonUTC.YearDay()-1)
	eqtime := 229.18 * (0.000075 + 0.001868*math.Cos(gamma) - 0.032077*math.Sin(gamma) -
		0.014615*math.Cos(2*gamma) - 0.040849*math.Sin(2*gamma))
	decl := 0.006918 - 0.399912*math.Cos(gamma) + 0.070257*math.Sin(gamma) -
		0.006758*math.Cos(2*gamma) + 0.000907*math.Sin(2*gamma) -
		0.002697*math.Cos(3*gamma) + 0.00148*math.Sin(3*gamma)
	rad := math.Pi / 180
	cosHA := math.Cos(90.833*rad)/(math.Cos(lat*rad)*math.Cos(decl)) - math.Tan(lat*rad)*math.Tan(decl)
	if cosHA < -1 || cosHA > 1 {
		return time.Time{}, false
	}
	ha := math.Acos(cosHA) / rad
	minutes := 720 - 4*(lon-ha) - eqtime // minutes after 00:00 UTC of the date
	utc := time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Add(time.Duration(minutes * float64(time.Minute)))
	// A site far from Greenwich may see that instant on the day before or after its local
	// date: move a day, which shifts sunset by a minute or two at most.
	out := utc.In(date.Location())
	want := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	oy, om, od := out.Date()
	got := time.Date(oy, om, od, 0, 0, 0, 0, time.UTC)
	switch {
	case got.Before(want):
		out = out.Add(24 * time.Hour)
	case got.After(want):
		out = out.Add(-24 * time.Hour)
	}
	return out, true
}
