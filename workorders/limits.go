package workorders

import (
	"time"

	"github.com/facilityd/facilityd/alarms"
)

// Limits is the maintenance time-limit table (维护时限表): for a category and priority, the
// time to accept and the time to complete after acceptance.
type Limits struct {
	rows []TimeLimit
}

// NewLimits builds the table from configuration rows (DefaultTimeLimits when empty).
func NewLimits(rows []TimeLimit) *Limits {
	if len(rows) == 0 {
		rows = DefaultTimeLimits()
	}
	return &Limits{rows: rows}
}

// Rows returns the table as configured.
func (l *Limits) Rows() []TimeLimit { return append([]TimeLimit(nil), l.rows...) }

// Lookup finds the row for a category and priority: an exact row first, then the category's
// row for any priority, then the general row. A category not in the table is held to an hour
// to accept and a day to complete, so that no order is without a deadline.
func (l *Limits) Lookup(category string, p alarms.Priority) TimeLimit {
	var anyPriority, general *TimeLimit
	for i := range l.rows {
		r := &l.rows[i]
		switch {
		case r.Category == category && r.Priority == string(p):
			return *r
		case r.Category == category && r.Priority == "" && anyPriority == nil:
			anyPriority = r
		case r.Category == "general" && general == nil:
			general = r
		}
	}
	if anyPriority != nil {
		return *anyPriority
	}
	if general != nil {
		return *general
	}
	return TimeLimit{Category: category, Accept: time.Hour, Complete: 24 * time.Hour}
}

// Stage names a column of the time-limit table.
type Stage int

// The table's columns: accept, arrive on site (到达现场), complete.
const (
	StageAccept Stage = iota
	StageArrive
	StageComplete
)

// Deadline is from plus the row's time for the stage, counted in working time when the row
// says so; the zero time when the row sets no time for it (arrival, for preventive jobs).
func (l *Limits) Deadline(category string, p alarms.Priority, from time.Time, stage Stage, cal *Calendar) time.Time {
	r := l.Lookup(category, p)
	d := r.Accept
	switch stage {
	case StageArrive:
		d = r.Arrive
	case StageComplete:
		d = r.Complete
	}
	if d <= 0 {
		return time.Time{}
	}
	if r.SameDay && stage != StageAccept && cal != nil {
		return cal.CloseOfDay(from)
	}
	if r.WorkingHours && cal != nil {
		return cal.Add(from, d)
	}
	return from.Add(d)
}

// FromCall reports whether the order's deadlines all count from the call (the alarm raised,
// the order created) rather than from acceptance: life safety, where the trapped passenger
// waits from the moment the alarm sounds.
func (l *Limits) FromCall(o *Order) bool {
	return o.AlarmClass == alarms.ClassLifeSafety || l.Lookup(o.Category, o.Priority).FromCall
}
