package workorders

import (
	"time"

	"github.com/facilityd/facilityd/alarms"
	"github.com/facilityd/facilityd/config"
)

// Limits is the maintenance time-limit table (维护时限表): for a category and priority, the
// time to accept and the time to complete after acceptance.
type Limits struct {
	rows []config.TimeLimit
}

// NewLimits builds the table from configuration rows (config.DefaultTimeLimits when empty).
func NewLimits(rows []config.TimeLimit) *Limits {
	if len(rows) == 0 {
		rows = config.DefaultTimeLimits()
	}
	return &Limits{rows: rows}
}

// Rows returns the table as configured.
func (l *Limits) Rows() []config.TimeLimit { return append([]config.TimeLimit(nil), l.rows...) }

// Lookup finds the row for a category and priority: an exact row first, then the category's
// row for any priority, then the general row. A category not in the table is held to an hour
// to accept and a day to complete, so that no order is without a deadline.
func (l *Limits) Lookup(category string, p alarms.Priority) config.TimeLimit {
	var anyPriority, general *config.TimeLimit
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
	return config.TimeLimit{Category: category, Accept: time.Hour, Complete: 24 * time.Hour}
}

// Deadline is from plus the row's time to complete (complete) or to accept, counted in
// working time when the row says so.
func (l *Limits) Deadline(category string, p alarms.Priority, from time.Time, complete bool, cal *Calendar) time.Time {
	r := l.Lookup(category, p)
	d := r.Accept
	if complete {
		d = r.Complete
	}
	if r.WorkingHours && cal != nil {
		return cal.Add(from, d)
	}
	return from.Add(d)
}
