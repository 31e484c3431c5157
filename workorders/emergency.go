package workorders

import (
	"fmt"
	"slices"
	"time"
)

// DutyShift is one technician's duty (值班) for emergency repairs (应急维修) outside working
// hours and in them: from Start to End (HH:MM; an End before Start runs past midnight) on
// the days it starts (mon..sun; empty: every day).
type DutyShift struct {
	Technician string
	Start, End string
	Days       []string
}

// covers reports whether the shift is on at t (in the estate's zone).
func (s DutyShift) covers(t time.Time, loc *time.Location) bool {
	t = t.In(loc)
	start, err1 := clockMinutes(s.Start)
	end, err2 := clockMinutes(s.End)
	if err1 != nil || err2 != nil {
		return false
	}
	now := t.Hour()*60 + t.Minute()
	day := t
	switch {
	case start < end:
		if now < start || now >= end {
			return false
		}
	case now >= start: // the evening part of an overnight shift
	case now < end: // the small hours: the shift began the day before
		day = t.AddDate(0, 0, -1)
	default:
		return false
	}
	if len(s.Days) == 0 {
		return true
	}
	return slices.ContainsFunc(s.Days, func(d string) bool { wd, ok := Weekday(d); return ok && wd == day.Weekday() })
}

func clockMinutes(hhmm string) (int, error) {
	t, err := time.Parse("15:04", hhmm)
	if err != nil {
		return 0, fmt.Errorf("%q is not a time of day (HH:MM)", hhmm)
	}
	return t.Hour()*60 + t.Minute(), nil
}

// OnDuty is the technician of the first duty shift on at t, or "" when none is.
func (p *Policy) OnDuty(t time.Time) string {
	for _, s := range p.Duty {
		if s.covers(t, p.Calendar.Location()) {
			return s.Technician
		}
	}
	return ""
}

// validateDuty checks each duty shift names a known technician and its times read.
func (c Config) validateDuty() []error {
	var errs []error
	known := map[string]bool{}
	for _, t := range c.Technicians {
		known[t.ID] = true
	}
	for i, s := range c.Duty {
		name := fmt.Sprintf("workorders.duty[%d] (%s)", i, s.Technician)
		if !known[s.Technician] {
			errs = append(errs, fmt.Errorf("%s.technician: not in workorders.technicians", name))
		}
		for _, v := range []struct{ key, val string }{{"start", s.Start}, {"end", s.End}} {
			if _, err := clockMinutes(v.val); err != nil {
				errs = append(errs, fmt.Errorf("%s.%s: %w", name, v.key, err))
			}
		}
		if s.Start == s.End {
			errs = append(errs, fmt.Errorf("%s: start and end are both %s; a shift needs a length", name, s.Start))
		}
		for _, d := range s.Days {
			if _, ok := Weekday(d); !ok {
				errs = append(errs, fmt.Errorf("%s.days: %q is not one of mon..sun", name, d))
			}
		}
	}
	return errs
}
