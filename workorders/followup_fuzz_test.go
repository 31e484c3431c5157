package workorders

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
	"time"
)

// FuzzFollowUpBody: any body of POST /api/v1/workorders/{id}/follow_up, on a resident's repair
// and on a complaint, is either refused with a reason (the order unchanged) or recorded as the
// points say: satisfied only when all three are, followed up when satisfied, reopened when not,
// and never the assignee's own call.
func FuzzFollowUpBody(f *testing.F) {
	for _, s := range []string{
		`{"by":"cs-liu","points":{"timeliness":true,"quality":true,"satisfaction":true}}`,
		`{"by":"cs-liu","points":{"timeliness":false,"quality":true,"satisfaction":true},"note":"late"}`,
		`{"by":"cs-liu","satisfied":true,"points":{"timeliness":true,"quality":false,"satisfaction":true}}`,
		`{"by":"tech-chen","points":{"timeliness":true,"quality":true,"satisfaction":true}}`,
		`{"by":"sup-li","satisfied":false}`,
		`{"by":"qa-sun","level":"quality","points":{"timeliness":true}}`,
		`{"by":"admin","on_behalf_of":"tech-chen","satisfied":true}`,
	} {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	cal, err := NewCalendar(WorkCalendar{Timezone: "UTC", Days: []string{"mon", "tue", "wed", "thu", "fri"}, Start: "09:00", End: "18:00"})
	if err != nil {
		f.Fatal(err)
	}
	p := &Policy{Limits: NewLimits(nil), Calendar: cal, FollowUpRepair: time.Hour, FollowUpHousehold: 9 * time.Hour, Supervisor: "engineering-supervisor", Sampling: DefaultSampling()}
	now := time.Date(2026, 3, 3, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, body []byte, complaint bool) {
		var in Input
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		if dec.Decode(&in) != nil {
			return
		}
		o := Order{ID: "WO-1", Source: SourceManual, Category: CategoryHousehold, State: StateResolved, Assignee: "tech-chen", Supervisor: "sup-li"}
		if complaint {
			o.Category = CategoryComplaint
		}
		got, err := Apply(o, ActionFollowUp, in, now, p)
		if err != nil {
			var te *TransitionError
			if !errors.Is(err, ErrInvalid) && !errors.As(err, &te) {
				t.Fatalf("refused without a reason a person reads: %v", err)
			}
			if got.State != o.State || len(got.History) != 0 {
				t.Fatalf("a refused call changed the order: %+v", got)
			}
			return
		}
		h := got.History[len(got.History)-1]
		if caller(in) == o.Assignee {
			t.Fatalf("the assignee recorded his own call: %+v", h)
		}
		if h.Satisfied == nil {
			t.Fatalf("a call without an answer: %+v", h)
		}
		if !complaint && (in.Points == nil || *h.Satisfied != in.Points.all()) {
			t.Fatalf("satisfied %v against the points %+v", *h.Satisfied, in.Points)
		}
		if *h.Satisfied != (got.State != StateAccepted) {
			t.Fatalf("satisfied %v left the order %s", *h.Satisfied, got.State)
		}
	})
}

// FuzzDefectUpdate: any body of POST /api/v1/defects/{id} is refused with a reason (the
// defect unchanged) or logged by its owner, and only a hand-over changes the owner.
func FuzzDefectUpdate(f *testing.F) {
	for _, s := range []string{
		`{"by":"cs-liu","note":"called","status":"repair_office"}`,
		`{"by":"cs-liu","note":"leave","hand_to":"cs-wang"}`,
		`{"by":"cs-wang","note":"called"}`,
		`{"by":"cs-liu","note":"","status":"solved"}`,
		`{"by":"admin","on_behalf_of":"cs-liu","note":"x","status":"fixed"}`,
	} {
		f.Add([]byte(s))
	}
	now := time.Date(2026, 3, 3, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, body []byte) {
		var u DefectUpdate
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		if dec.Decode(&u) != nil {
			return
		}
		d := Defect{ID: "DF-1", Home: "3-1-1802", Owner: "cs-liu", Status: DefectOpen, ReportedAt: now.Add(-time.Hour), Log: []DefectEntry{{At: now.Add(-time.Hour), By: "cs-liu"}}}
		got, err := applyDefect(d, u, now)
		if err != nil {
			if !errors.Is(err, ErrInvalid) || got.Owner != d.Owner || len(got.Log) != 1 {
				t.Fatalf("refused %v, defect %+v", err, got)
			}
			return
		}
		who := u.By
		if u.OnBehalfOf != "" {
			who = u.OnBehalfOf
		}
		if who != d.Owner || len(got.Log) != 2 || !got.Status.valid() {
			t.Fatalf("%s recorded on %s's defect: %+v", who, d.Owner, got)
		}
		if (got.Owner != d.Owner) != (u.HandTo != "") {
			t.Fatalf("owner %s after %+v", got.Owner, u)
		}
		if (got.Status == DefectSolved) == got.SolvedAt.IsZero() {
			t.Fatalf("status %s solved at %v", got.Status, got.SolvedAt)
		}
	})
}
