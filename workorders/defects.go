package workorders

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// DefectStatus is where a handover defect stands.
type DefectStatus string

// The register's statuses: registered, passed to the repair office (返修办) for the developer's
// repair, solved. Only solved ends the owner's duty.
const (
	DefectOpen         DefectStatus = "open"
	DefectRepairOffice DefectStatus = "repair_office"
	DefectSolved       DefectStatus = "solved"
)

// DefectStatuses lists the statuses, for messages.
var DefectStatuses = []DefectStatus{DefectOpen, DefectRepairOffice, DefectSolved}

func (s DefectStatus) valid() bool {
	return s == DefectOpen || s == DefectRepairOffice || s == DefectSolved
}

// Defect is one problem left at handover (入伙后的遗留问题) in a resident's home, kept on file
// (建档管理) with its owner until it is solved: the first to receive it (首问责任制) owns it,
// and every contact with the resident is logged.
type Defect struct {
	ID string `json:"id"`
	// Home is building-unit-room ("3-1-1802").
	Home     string `json:"home"`
	Resident string `json:"resident,omitempty"`
	Contact  string `json:"contact,omitempty"`
	Title    string `json:"title"`
	// Owner is who received it first, or the person it was last handed over to.
	Owner      string        `json:"owner"`
	Status     DefectStatus  `json:"status"`
	ReportedAt time.Time     `json:"reported_at"`
	SolvedAt   time.Time     `json:"solved_at,omitzero"`
	Log        []DefectEntry `json:"log"`
	Version    int64         `json:"version"`
}

// DefectEntry is one contact with the resident, a status change or a hand-over.
type DefectEntry struct {
	At         time.Time    `json:"at"`
	By         string       `json:"by"`
	OnBehalfOf string       `json:"on_behalf_of,omitempty"`
	Note       string       `json:"note,omitempty"`
	Status     DefectStatus `json:"status,omitempty"`
	HandedTo   string       `json:"handed_to,omitempty"`
}

// DefectRequest registers a defect; By is who received it and becomes its owner.
type DefectRequest struct {
	Home     string `json:"home"`
	Resident string `json:"resident,omitempty"`
	Contact  string `json:"contact,omitempty"`
	Title    string `json:"title"`
	Note     string `json:"note,omitempty"`
	By       string `json:"by"`
	// OnBehalfOf is the person an admin filed it for, who then owns it; the API sets it,
	// never the body.
	OnBehalfOf string `json:"on_behalf_of,omitempty"`
}

// DefectUpdate is the owner's next entry: a contact with the resident (Note), a new Status,
// or a hand-over of the defect to another person (HandTo).
type DefectUpdate struct {
	By string `json:"by"`
	// OnBehalfOf is the person an admin acted for; the API sets it, never the body.
	OnBehalfOf string       `json:"on_behalf_of,omitempty"`
	Note       string       `json:"note"`
	Status     DefectStatus `json:"status,omitempty"`
	HandTo     string       `json:"hand_to,omitempty"`
}

// DefectStore keeps the defect register beside the order book.
type DefectStore interface {
	AddDefect(ctx context.Context, d *Defect) error
	GetDefect(ctx context.Context, id string) (*Defect, error)
	// UpdateDefect stores d if nobody changed it since d.Version was read, else ErrConflict.
	UpdateDefect(ctx context.Context, d *Defect) error
	// Defects lists the defects of a home (empty: all), open only when open is set, oldest first.
	Defects(ctx context.Context, home string, open bool) ([]*Defect, error)
}

// applyDefect is the register's step as a pure function: the defect after u at now, or
// ErrInvalid and the defect unchanged. Only the owner records on it (an admin for them);
// the duty passes on only by an explicit hand-over; a solved defect takes no more entries.
func applyDefect(d Defect, u DefectUpdate, now time.Time) (Defect, error) {
	u.HandTo = strings.TrimSpace(u.HandTo)
	who := u.By
	if u.OnBehalfOf != "" {
		who = u.OnBehalfOf
	}
	switch {
	case strings.TrimSpace(u.By) == "":
		return d, fmt.Errorf("%w: defect %s: say who acts (by)", ErrInvalid, d.ID)
	case d.Status == DefectSolved:
		return d, fmt.Errorf("%w: defect %s was solved at %s; register a new one if the problem is back", ErrInvalid, d.ID, d.SolvedAt.Format(time.RFC3339))
	case who != d.Owner:
		return d, fmt.Errorf("%w: defect %s is owned by %s, who received it; %s may record on it once it is handed over (hand_to)", ErrInvalid, d.ID, d.Owner, who)
	case u.Status != "" && !u.Status.valid():
		return d, fmt.Errorf("%w: defect %s: status %q is not one of %v", ErrInvalid, d.ID, u.Status, DefectStatuses)
	case strings.TrimSpace(u.Note) == "":
		return d, fmt.Errorf("%w: defect %s: say what was done or told to the resident (note)", ErrInvalid, d.ID)
	case u.HandTo == who:
		return d, fmt.Errorf("%w: defect %s: %s owns it already", ErrInvalid, d.ID, who)
	}
	d.Log = append(append([]DefectEntry(nil), d.Log...), DefectEntry{At: now, By: u.By, OnBehalfOf: u.OnBehalfOf, Note: u.Note, Status: u.Status, HandedTo: u.HandTo})
	if u.HandTo != "" {
		d.Owner = u.HandTo
	}
	if u.Status != "" {
		d.Status = u.Status
	}
	if d.Status == DefectSolved {
		d.SolvedAt = now
	}
	return d, nil
}

// RegisterDefect files a handover defect; whoever takes it is its owner.
func (m *Manager) RegisterDefect(ctx context.Context, r DefectRequest) (*Defect, error) {
	switch {
	case strings.TrimSpace(r.Home) == "":
		return nil, fmt.Errorf("%w: home: say which home (building-unit-room, 3-1-1802)", ErrInvalid)
	case strings.TrimSpace(r.Title) == "":
		return nil, fmt.Errorf("%w: title: say what is wrong", ErrInvalid)
	case strings.TrimSpace(r.By) == "":
		return nil, fmt.Errorf("%w: by: say who received it", ErrInvalid)
	}
	now := m.now()
	owner := r.By
	if r.OnBehalfOf != "" {
		owner = r.OnBehalfOf
	}
	d := &Defect{Home: strings.TrimSpace(r.Home), Resident: r.Resident, Contact: r.Contact, Title: r.Title, Owner: owner, Status: DefectOpen,
		ReportedAt: now, Log: []DefectEntry{{At: now, By: r.By, OnBehalfOf: r.OnBehalfOf, Note: r.Note, Status: DefectOpen}}}
	if err := m.store.AddDefect(ctx, d); err != nil {
		return nil, err
	}
	return d, nil
}

// UpdateDefect records the owner's entry on a defect, retrying once when another gateway
// changed it meanwhile.
func (m *Manager) UpdateDefect(ctx context.Context, id string, u DefectUpdate) (*Defect, error) {
	for attempt := 0; ; attempt++ {
		cur, err := m.store.GetDefect(ctx, id)
		if err != nil {
			return nil, err
		}
		next, err := applyDefect(*cur, u, m.now())
		if err != nil {
			return nil, err
		}
		if err := m.store.UpdateDefect(ctx, &next); err != nil {
			if errors.Is(err, ErrConflict) && attempt < 2 {
				continue
			}
			return nil, err
		}
		return &next, nil
	}
}

// Defects lists the register: a home's defects (home empty: every home), open ones only when
// open is set.
func (m *Manager) Defects(ctx context.Context, home string, open bool) ([]*Defect, error) {
	return m.store.Defects(ctx, home, open)
}

// MeetingItem is one line of the list for the regular meeting with the repair office
// (与返修办定期召开例会): an open defect, its age and its last contact.
type MeetingItem struct {
	Defect      *Defect      `json:"defect"`
	AgeDays     int          `json:"age_days"`
	LastContact *DefectEntry `json:"last_contact,omitempty"`
}

// DefectMeeting lists the defects not yet solved, oldest first, for the meeting with the
// repair office.
func (m *Manager) DefectMeeting(ctx context.Context) ([]MeetingItem, error) {
	list, err := m.store.Defects(ctx, "", true)
	if err != nil {
		return nil, err
	}
	return meetingList(list, m.now()), nil
}

func meetingList(list []*Defect, now time.Time) []MeetingItem {
	out := []MeetingItem{}
	for _, d := range list {
		it := MeetingItem{Defect: d, AgeDays: int(now.Sub(d.ReportedAt) / (24 * time.Hour))}
		if n := len(d.Log); n > 0 {
			last := d.Log[n-1]
			it.LastContact = &last
		}
		out = append(out, it)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Defect.ReportedAt.Before(out[j].Defect.ReportedAt) })
	return out
}

func defectSeq(id string) (int64, bool) {
	n, err := strconv.ParseInt(strings.TrimPrefix(id, "DF-"), 10, 64)
	return n, err == nil && strings.HasPrefix(id, "DF-")
}

// AddDefect implements DefectStore.
func (s *SQLStore) AddDefect(ctx context.Context, d *Defect) error {
	d.Version = 1
	data, err := json.Marshal(d)
	if err != nil {
		return err
	}
	var seq int64
	if err := s.db.QueryRowContext(ctx, s.q(`INSERT INTO workorder_defects (home, status, reported_at, version, data) VALUES (?, ?, ?, 1, ?) RETURNING seq`),
		d.Home, string(d.Status), ms(d.ReportedAt), string(data)).Scan(&seq); err != nil {
		return err
	}
	d.ID = fmt.Sprintf("DF-%d", seq)
	return nil
}

const defectColumns = `seq, version, data`

func scanDefect(sc interface{ Scan(...any) error }) (*Defect, error) {
	var seq, version int64
	var data string
	if err := sc.Scan(&seq, &version, &data); err != nil {
		return nil, err
	}
	var d Defect
	if err := json.Unmarshal([]byte(data), &d); err != nil {
		return nil, fmt.Errorf("defect DF-%d: stored data unreadable: %w", seq, err)
	}
	d.ID, d.Version = fmt.Sprintf("DF-%d", seq), version
	return &d, nil
}

// GetDefect implements DefectStore.
func (s *SQLStore) GetDefect(ctx context.Context, id string) (*Defect, error) {
	seq, ok := defectSeq(id)
	if !ok {
		return nil, fmt.Errorf("%w: %q (defect ids look like DF-12)", ErrNotFound, id)
	}
	d, err := scanDefect(s.db.QueryRowContext(ctx, s.q(`SELECT `+defectColumns+` FROM workorder_defects WHERE seq = ?`), seq))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: defect %s", ErrNotFound, id)
	}
	return d, err
}

// UpdateDefect implements DefectStore.
func (s *SQLStore) UpdateDefect(ctx context.Context, d *Defect) error {
	seq, ok := defectSeq(d.ID)
	if !ok {
		return fmt.Errorf("%w: %q", ErrNotFound, d.ID)
	}
	data, err := json.Marshal(d)
	if err != nil {
		return err
	}
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE workorder_defects SET status = ?, version = version + 1, data = ? WHERE seq = ? AND version = ?`),
		string(d.Status), string(data), seq, d.Version)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("defect %s: %w", d.ID, ErrConflict)
	}
	d.Version++
	return nil
}

// Defects implements DefectStore.
func (s *SQLStore) Defects(ctx context.Context, home string, open bool) ([]*Defect, error) {
	var where []string
	var args []any
	if home != "" {
		where, args = append(where, "home = ?"), append(args, home)
	}
	if open {
		where = append(where, "status <> 'solved'")
	}
	query := `SELECT ` + defectColumns + ` FROM workorder_defects`
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	rows, err := s.db.QueryContext(ctx, s.q(query+" ORDER BY reported_at, seq"), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []*Defect{}
	for rows.Next() {
		d, err := scanDefect(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}
