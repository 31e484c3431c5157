package workorders

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// TestStoreDefects: the register on SQLite and PostgreSQL keeps a defect's log, refuses a
// stale update from a second gateway and lists a home's open defects oldest first.
func TestStoreDefects(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			s1, s2 := b.open(t)
			at := time.Date(2026, 3, 3, 10, 0, 0, 0, time.UTC)
			crack := &Defect{Home: "3-1-1802", Title: "crack in the bathroom tiles", Owner: "cs-liu", Status: DefectOpen, ReportedAt: at,
				Log: []DefectEntry{{At: at, By: "cs-liu", Status: DefectOpen}}}
			door := &Defect{Home: "3-1-1802", Title: "front door sticks", Owner: "cs-liu", Status: DefectOpen, ReportedAt: at.Add(-time.Hour)}
			other := &Defect{Home: "5-2-0301", Title: "window seal", Owner: "cs-wang", Status: DefectOpen, ReportedAt: at}
			for _, d := range []*Defect{crack, door, other} {
				if err := s1.AddDefect(ctx, d); err != nil {
					t.Fatal(err)
				}
			}
			got, err := s2.GetDefect(ctx, crack.ID)
			if err != nil || got.Title != crack.Title || len(got.Log) != 1 || got.Version != 1 {
				t.Fatalf("get %s: %+v %v", crack.ID, got, err)
			}
			stale := *got
			next, err := applyDefect(*got, DefectUpdate{By: "cs-liu", Note: "passed to the repair office", Status: DefectRepairOffice}, at.Add(time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			if err := s2.UpdateDefect(ctx, &next); err != nil {
				t.Fatal(err)
			}
			stale.Log = append(stale.Log, DefectEntry{At: at, By: "cs-liu", Note: "a change from an old copy"})
			if err := s1.UpdateDefect(ctx, &stale); !errors.Is(err, ErrConflict) {
				t.Fatalf("a stale update: %v, want ErrConflict", err)
			}
			solved, _ := applyDefect(next, DefectUpdate{By: "cs-liu", Note: "retiled; the resident confirmed", Status: DefectSolved}, at.Add(48*time.Hour))
			if err := s1.UpdateDefect(ctx, &solved); err != nil {
				t.Fatalf("update after reload: %v", err)
			}
			home, err := s2.Defects(ctx, "3-1-1802", false)
			if err != nil || len(home) != 2 || home[0].ID != door.ID || len(home[1].Log) != 3 || home[1].Status != DefectSolved {
				t.Fatalf("home 3-1-1802: %+v %v", home, err)
			}
			open, err := s2.Defects(ctx, "", true)
			if err != nil || len(open) != 2 || open[0].ID != door.ID || open[1].ID != other.ID {
				t.Fatalf("open defects: %v %v", defectIDs(open), err)
			}
			if _, err := s1.GetDefect(ctx, "WO-1"); !errors.Is(err, ErrNotFound) {
				t.Fatalf("a work-order id as a defect: %v", err)
			}
		})
	}
}

func defectIDs(list []*Defect) []string {
	var out []string
	for _, d := range list {
		out = append(out, d.ID)
	}
	return out
}

// TestDefectRegister: the first receiver owns a defect and logs every contact with the
// resident; nobody else records on it until it is handed over; a solved defect leaves the
// meeting list, which shows the open ones oldest first with their age.
func TestDefectRegister(t *testing.T) {
	ctx := context.Background()
	r := newRig(t, time.Date(2026, 3, 3, 10, 0, 0, 0, shanghai), nil)
	if _, err := r.m.RegisterDefect(ctx, DefectRequest{Title: "crack", By: "cs-liu"}); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "building-unit-room") {
		t.Fatalf("a defect without a home: %v", err)
	}
	crack, err := r.m.RegisterDefect(ctx, DefectRequest{Home: "3-1-1802", Resident: "Ms Zhang", Contact: "139", Title: "crack in the bathroom tiles", By: "cs-liu"})
	if err != nil || crack.Owner != "cs-liu" || crack.Status != DefectOpen {
		t.Fatalf("register: %+v %v", crack, err)
	}
	if d, err := r.m.RegisterDefect(ctx, DefectRequest{Home: "5-2-0302", Title: "window seal", By: "admin", OnBehalfOf: "cs-zhao"}); err != nil || d.Owner != "cs-zhao" {
		t.Fatalf("filed by an admin for cs-zhao: %+v %v", d, err)
	} else if _, err := r.m.UpdateDefect(ctx, d.ID, DefectUpdate{By: "cs-zhao", Note: "solved at once", Status: DefectSolved}); err != nil {
		t.Fatal(err)
	}
	r.clock.Step(24 * time.Hour)
	door, _ := r.m.RegisterDefect(ctx, DefectRequest{Home: "5-2-0301", Title: "front door sticks", By: "cs-wang"})
	steps := []struct {
		name    string
		u       DefectUpdate
		wantErr string
	}{
		{"the owner calls the resident", DefectUpdate{By: "cs-liu", Note: "told Ms Zhang the repair office comes on Friday", Status: DefectRepairOffice}, ""},
		{"another person records on it", DefectUpdate{By: "cs-wang", Note: "called"}, "owned by cs-liu, who received it"},
		{"an entry without a note", DefectUpdate{By: "cs-liu"}, "note"},
		{"a status that is not one", DefectUpdate{By: "cs-liu", Note: "x", Status: "fixed"}, `status "fixed" is not one of [open repair_office solved]`},
		{"the owner hands it over", DefectUpdate{By: "cs-liu", Note: "going on leave", HandTo: "cs-wang"}, ""},
		{"the old owner records again", DefectUpdate{By: "cs-liu", Note: "called"}, "owned by cs-wang"},
		{"an admin records for the new owner", DefectUpdate{By: "admin", OnBehalfOf: "cs-wang", Note: "called: tiles ordered"}, ""},
	}
	for _, s := range steps {
		r.clock.Step(time.Hour)
		_, err := r.m.UpdateDefect(ctx, crack.ID, s.u)
		if s.wantErr == "" && err != nil || s.wantErr != "" && (!errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), s.wantErr)) {
			t.Fatalf("%s: %v, want %q", s.name, err, s.wantErr)
		}
	}
	r.clock.Step(5 * 24 * time.Hour)
	meeting, err := r.m.DefectMeeting(ctx)
	if err != nil || len(meeting) != 2 || meeting[0].Defect.ID != crack.ID || meeting[0].AgeDays != 6 || meeting[1].AgeDays != 5 ||
		meeting[0].LastContact.Note != "called: tiles ordered" || meeting[0].Defect.Owner != "cs-wang" {
		t.Fatalf("meeting list: %+v %v", meeting, err)
	}
	solved, err := r.m.UpdateDefect(ctx, crack.ID, DefectUpdate{By: "cs-wang", Note: "retiled; Ms Zhang confirmed", Status: DefectSolved})
	if err != nil || solved.SolvedAt.IsZero() || len(solved.Log) != 5 {
		t.Fatalf("solve: %+v %v", solved, err)
	}
	if _, err := r.m.UpdateDefect(ctx, crack.ID, DefectUpdate{By: "cs-wang", Note: "again"}); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "register a new one") {
		t.Fatalf("an entry on a solved defect: %v", err)
	}
	if meeting, _ := r.m.DefectMeeting(ctx); len(meeting) != 1 || meeting[0].Defect.ID != door.ID {
		t.Fatalf("after solving: %+v", meeting)
	}
	if home, _ := r.m.Defects(ctx, "3-1-1802", false); len(home) != 1 || home[0].Status != DefectSolved {
		t.Fatalf("the home's file: %+v", home)
	}
}
