package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/facilityd/facilityd/workorders"
)

// WorkOrders is what the API needs from the work-order service (*workorders.Manager).
type WorkOrders interface {
	List(ctx context.Context, f workorders.Filter, overdue bool) ([]*workorders.Order, error)
	Get(ctx context.Context, id string) (*workorders.Order, error)
	Raise(ctx context.Context, r workorders.RaiseRequest) (*workorders.Order, error)
	Transition(ctx context.Context, id string, a workorders.Action, in workorders.Input) (*workorders.Order, error)
	Schedule(ctx context.Context, r workorders.ScheduleRequest) (*workorders.Order, error)
	FollowUps(ctx context.Context) (due, overdue []*workorders.Order, err error)
	Notices(ctx context.Context) ([]workorders.Notice, error)
	Ledger() []workorders.LedgerEntry
	Technicians() []workorders.Technician
	SampledFollowUps(ctx context.Context, level string) (due, done []*workorders.Order, err error)
	FollowUpLevels() []string
	Announce(ctx context.Context, r workorders.NoticeRequest) (*workorders.Notice, error)
	Answers(ctx context.Context, owner string) (due, overdue []*workorders.Order, err error)
	Stocktake(ctx context.Context, period workorders.Period, at time.Time) (*workorders.Stocktake, error)
}

// RegisterWorkOrders serves the work-order routes through s; rr (may be nil) gives GET of an
// order awaiting verification the device's readings since the repair.
func RegisterWorkOrders(s *Server, wo WorkOrders, rr *RepairReadings) {
	h := &woHandlers{wo: wo, readings: rr}
	s.Handle("GET /api/v1/workorders", http.HandlerFunc(h.list))
	s.Handle("POST /api/v1/workorders", http.HandlerFunc(h.raise))
	s.Handle("GET /api/v1/workorders/followups", http.HandlerFunc(h.followUps))
	s.Handle("GET /api/v1/workorders/answers", http.HandlerFunc(h.answers))
	s.Handle("GET /api/v1/workorders/stocktake", http.HandlerFunc(h.stocktake))
	s.Handle("POST /api/v1/workorders/schedule", http.HandlerFunc(h.schedule))
	s.Handle("GET /api/v1/workorders/{id}", http.HandlerFunc(h.get))
	s.Handle("POST /api/v1/workorders/{id}/{transition}", http.HandlerFunc(h.transition))
	s.Handle("GET /api/v1/devices/{id}/orders", http.HandlerFunc(h.deviceOrders))
	s.Handle("GET /api/v1/notices", http.HandlerFunc(h.notices))
	s.Handle("POST /api/v1/notices", http.HandlerFunc(h.announce))
	s.Handle("GET /api/v1/ledger", http.HandlerFunc(h.ledger))
	s.Handle("GET /api/v1/technicians", http.HandlerFunc(h.technicians))
}

type woHandlers struct {
	wo       WorkOrders
	readings *RepairReadings
}

// OrderList is GET /api/v1/workorders.
type OrderList struct {
	Orders []*workorders.Order `json:"orders"`
}

// FollowUpList is GET /api/v1/workorders/followups: the calls due and overdue; with
// ?level= a sampled level (quality, management), that level's sample still to call (due) and
// called (done).
type FollowUpList struct {
	Level   string              `json:"level"`
	Due     []*workorders.Order `json:"due"`
	Overdue []*workorders.Order `json:"overdue"`
	Done    []*workorders.Order `json:"done,omitempty"`
}

func (h *woHandlers) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := workorders.Filter{State: workorders.State(q.Get("state")), Zone: q.Get("zone"), Team: q.Get("team"),
		Device: q.Get("device"), Category: q.Get("category"), Plan: q.Get("plan"), Location: q.Get("location"), Assignee: q.Get("assignee")}
	if f.State != "" && !validState(f.State) {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("state %q is not one of new, accepted, in_progress, resolved, followed_up, closed, cancelled", f.State))
		return
	}
	overdue := q.Get("overdue") == "true" || q.Get("overdue") == "1"
	h.writeOrders(w, r, f, overdue)
}

func validState(s workorders.State) bool {
	switch s {
	case workorders.StateNew, workorders.StateAccepted, workorders.StateInProgress, workorders.StateResolved,
		workorders.StateFollowedUp, workorders.StateClosed, workorders.StateCancelled:
		return true
	}
	return false
}

func (h *woHandlers) writeOrders(w http.ResponseWriter, r *http.Request, f workorders.Filter, overdue bool) {
	list, err := h.wo.List(r.Context(), f, overdue)
	if err != nil {
		woError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, OrderList{Orders: orNone(list)})
}

func (h *woHandlers) deviceOrders(w http.ResponseWriter, r *http.Request) {
	h.writeOrders(w, r, workorders.Filter{Device: r.PathValue("id")}, false)
}

func (h *woHandlers) get(w http.ResponseWriter, r *http.Request) {
	o, err := h.wo.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		woError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, h.readings.view(o))
}

func (h *woHandlers) raise(w http.ResponseWriter, r *http.Request) {
	var req workorders.RaiseRequest
	if !decode(w, r, &req) {
		return
	}
	if !settleActor(w, r, &req.By, &req.Note) {
		return
	}
	o, err := h.wo.Raise(r.Context(), req)
	if err != nil {
		woError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, o)
}

func (h *woHandlers) schedule(w http.ResponseWriter, r *http.Request) {
	var req workorders.ScheduleRequest
	if !decode(w, r, &req) {
		return
	}
	var note string
	if !settleActor(w, r, &req.By, &note) {
		return
	}
	o, err := h.wo.Schedule(r.Context(), req)
	if err != nil {
		woError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, o)
}

func (h *woHandlers) transition(w http.ResponseWriter, r *http.Request) {
	a := workorders.Action(strings.ReplaceAll(r.PathValue("transition"), "-", "_"))
	known := false
	for _, k := range workorders.Actions {
		known = known || k == a
	}
	if !known {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no transition %q; one of %v", r.PathValue("transition"), workorders.Actions))
		return
	}
	var in workorders.Input
	if !decode(w, r, &in) {
		return
	}
	who, status, err := actor(r, in.By)
	if err != nil {
		writeError(w, status, err.Error())
		return
	}
	in.By, in.OnBehalfOf = who.By, who.OnBehalfOf
	o, err := h.wo.Transition(r.Context(), r.PathValue("id"), a, in)
	if err != nil {
		woError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, o)
}

func (h *woHandlers) followUps(w http.ResponseWriter, r *http.Request) {
	levels := h.wo.FollowUpLevels()
	level := r.URL.Query().Get("level")
	if level != "" && level != levels[0] {
		due, done, err := h.wo.SampledFollowUps(r.Context(), level)
		if err != nil {
			woError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, FollowUpList{Level: level, Due: orNone(due), Overdue: []*workorders.Order{}, Done: orNone(done)})
		return
	}
	due, overdue, err := h.wo.FollowUps(r.Context())
	if err != nil {
		woError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, FollowUpList{Level: levels[0], Due: orNone(due), Overdue: orNone(overdue)})
}

// orNone is orders, or an empty list where there are none, so that a list is [] and not null.
func orNone(orders []*workorders.Order) []*workorders.Order {
	if orders == nil {
		return []*workorders.Order{}
	}
	return orders
}

// AnswerList is GET /api/v1/workorders/answers: the desk requests whose resident is still to
// be told how they are handled (首问责任制), due and overdue; ?owner= keeps one person's.
type AnswerList struct {
	Due     []*workorders.Order `json:"due"`
	Overdue []*workorders.Order `json:"overdue"`
}

func (h *woHandlers) answers(w http.ResponseWriter, r *http.Request) {
	due, overdue, err := h.wo.Answers(r.Context(), r.URL.Query().Get("owner"))
	if err != nil {
		woError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, AnswerList{Due: orNone(due), Overdue: orNone(overdue)})
}

// stocktake is GET /api/v1/workorders/stocktake?period=month|quarter|year&at=2026-03-31: the
// period's charges by category and the parts drawn from the store.
func (h *woHandlers) stocktake(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	period := workorders.Period(q.Get("period"))
	if period == "" {
		period = workorders.PeriodMonth
	}
	at := time.Now()
	if s := q.Get("at"); s != "" {
		t, err := time.Parse(time.DateOnly, s)
		if err != nil {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("at %q: give a day of the period, 2026-03-31", s))
			return
		}
		at = t.Add(12 * time.Hour) // midday: the same day in any of the estate's zones
	}
	st, err := h.wo.Stocktake(r.Context(), period, at)
	if err != nil {
		woError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

func (h *woHandlers) notices(w http.ResponseWriter, r *http.Request) {
	list, err := h.wo.Notices(r.Context())
	if err != nil {
		woError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"notices": list})
}

func (h *woHandlers) announce(w http.ResponseWriter, r *http.Request) {
	var req workorders.NoticeRequest
	if !decode(w, r, &req) {
		return
	}
	// A notice goes out to residents under a name: the token's, as for every other action
	// (an admin naming someone keeps both, the other in the reason).
	if !settleActor(w, r, &req.By, &req.Reason) {
		return
	}
	n, err := h.wo.Announce(r.Context(), req)
	if err != nil {
		woError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, n)
}

func (h *woHandlers) ledger(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"devices": h.wo.Ledger()})
}

// Technician is one person orders are dispatched to, as GET /api/v1/technicians shows them:
// the console's assignment list and the handset each one's notifications reach.
type Technician struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Team    string `json:"team"`
	Handset string `json:"handset,omitempty"`
}

func (h *woHandlers) technicians(w http.ResponseWriter, r *http.Request) {
	list := h.wo.Technicians()
	out := make([]Technician, 0, len(list))
	for _, t := range list {
		out = append(out, Technician{ID: t.ID, Name: t.Name, Team: t.Team, Handset: t.Handset})
	}
	writeJSON(w, http.StatusOK, map[string]any{"technicians": out})
}

// decode reads a JSON body with decodeBody, or answers 400 (413 when too large) and returns
// false.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := decodeBody(w, r, v); err != nil {
		writeError(w, bodyStatus(err), err.Error())
		return false
	}
	return true
}

func woError(w http.ResponseWriter, err error) {
	var te *workorders.TransitionError
	switch {
	case errors.Is(err, workorders.ErrNotFound):
		writeError(w, http.StatusNotFound, err.Error())
	case errors.As(err, &te), errors.Is(err, workorders.ErrNoticeTooLate), errors.Is(err, workorders.ErrConflict), errors.Is(err, workorders.ErrPermit):
		writeError(w, http.StatusConflict, err.Error())
	case errors.Is(err, workorders.ErrInvalid):
		writeError(w, http.StatusBadRequest, err.Error())
	default:
		writeError(w, http.StatusInternalServerError, err.Error())
	}
}

// settleActor replaces *by with who acts (see actor); an admin acting for someone else has it
// said in *note. It answers the refusal itself and returns false.
func settleActor(w http.ResponseWriter, r *http.Request, by, note *string) bool {
	who, status, err := actor(r, *by)
	if err != nil {
		writeError(w, status, err.Error())
		return false
	}
	*by = who.By
	*note = behalf(who.OnBehalfOf, *note)
	return true
}
