package workorders

import (
	"fmt"
	"time"
)

// Calendar is the estate's working time: the weekdays worked, the daily hours, public
// holidays off and weekend days worked in exchange (调休). Non-urgent limits count it only.
type Calendar struct {
	loc        *time.Location
	days       [7]bool
	start, end int // minutes after midnight
	holidays   map[string]bool
	workdays   map[string]bool
}

// NewCalendar builds a calendar from Config.Calendar; errors name the workorders.calendar key.
func NewCalendar(c WorkCalendar) (*Calendar, error) {
	loc, err := time.LoadLocation(c.Timezone)
	if err != nil {
		return nil, fmt.Errorf("workorders.calendar.timezone: %w", err)
	}
	cal := &Calendar{loc: loc, holidays: map[string]bool{}, workdays: map[string]bool{}}
	for _, d := range c.Days {
		wd, ok := Weekday(d)
		if !ok {
			return nil, fmt.Errorf("workorders.calendar.days: %q is not a weekday", d)
		}
		cal.days[wd] = true
	}
	cal.start, cal.end = minutes(c.Start), minutes(c.End)
	if cal.start < 0 || cal.end <= cal.start {
		return nil, fmt.Errorf("workorders.calendar.start, end: %q to %q is not a working day", c.Start, c.End)
	}
	for _, d := range c.Holidays {
		cal.holidays[d] = true
	}
	for _, d := range c.Workdays {
		cal.workdays[d] = true
	}
	return cal, nil
}

func minutes(s string) int {
	t, err := time.Parse("15:04", s)
	if err != nil {
		return -1
	}
	return t.Hour()*60 + t.Minute()
}

// Location is the estate's time zone.
func (c *Calendar) Location() *time.Location { return c.loc }

// Working reports whether the day of t is a working day.
func (c *Calendar) Working(t time.Time) bool {
	t = t.In(c.loc)
	d := t.Format(time.DateOnly)
	if c.workdays[d] {
		return true
	}
	return c.days[t.Weekday()] && !c.holidays[d]
}

// Add returns the time d of working time after t: hours outside the working day, weekends
// and holidays do not count.
func (c *Calendar) Add(t time.Time, d time.Duration) time.Time {
	t = t.In(c.loc)
	for i := 0; i < 3660; i++ { // ten years of days bounds a misconfigured calendar
		y, m, day := t.Date()
		dayStart := time.Date(y, m, day, 0, 0, 0, 0, c.loc)
		open := dayStart.Add(time.Duration(c.start) * time.Minute)
		shut := dayStart.Add(time.Duration(c.end) * time.Minute)
		if c.Working(t) && t.Before(shut) {
			if t.Before(open) {
				t = open
			}
			left := shut.Sub(t)
			if d <= left {
				return t.Add(d)
			}
			d -= left
		}
		t = dayStart.AddDate(0, 0, 1)
	}
	return t
}

// NextWorkingStart is the start of the first working period at or after t.
func (c *Calendar) NextWorkingStart(t time.Time) time.Time {
	return c.Add(t, 0)
}

// CloseOfDay is the end of the working day t falls in, or of the next working day when t is
// after hours or on a day off: "the same working day".
func (c *Calendar) CloseOfDay(t time.Time) time.Time {
	start := c.NextWorkingStart(t)
	y, m, d := start.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, c.loc).Add(time.Duration(c.end) * time.Minute)
}

// WorkingBefore is the latest working day at or before t, at t's time of day, that is still
// after floor; ok is false when every day between floor and t is off. A job that must not
// slip later (an elevator's maintenance, at most 15 days after the last) moves there.
func (c *Calendar) WorkingBefore(t, floor time.Time) (time.Time, bool) {
	t = t.In(c.loc)
	for i := 0; i < 366 && t.After(floor); i++ {
		if c.Working(t) {
			return t, true
		}
		t = t.AddDate(0, 0, -1)
	}
	return time.Time{}, false
}
