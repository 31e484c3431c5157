package api

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/facilityd/facilityd/workorders"
)

// Defects is what the API needs from the register of handover defects and the follow-up
// problems (*workorders.Manager).
type Defects interface {
	RegisterDefect(ctx context.Context, r workorders.DefectRequest) (*workorders.Defect, error)
	UpdateDefect(ctx context.Context, id string, u workorders.DefectUpdate) (*workorders.Defect, error)
	Defects(ctx context.Context, home string, open bool) ([]*workorders.Defect, error)
	DefectMeeting(ctx context.Context) ([]workorders.MeetingItem, error)
	FollowUpProblems(ctx context.Context, from, to time.Time) ([]workorders.Problem, error)
	Policy() *workorders.Policy
}

// RegisterDefects serves the defect register's routes and the month's follow-up problems
// through s.
func RegisterDefects(s *Server, d Defects) {
	h := &defectHandlers{d: d}
	s.Handle("GET /api/v1/defects", http.HandlerFunc(h.list))
	s.Handle("POST /api/v1/defects", http.HandlerFunc(h.register))
	s.Handle("GET /api/v1/defects/meeting", http.HandlerFunc(h.meeting))
	s.Handle("POST /api/v1/defects/{id}", http.HandlerFunc(h.update))
	s.Handle("GET /api/v1/workorders/problems", http.HandlerFunc(h.problems))
}

type defectHandlers struct{ d Defects }

// DefectList is GET /api/v1/defects: a home's file (?home=3-1-1802), the open ones with ?open=1.
type DefectList struct {
	Defects []*workorders.Defect `json:"defects"`
}

func (h *defectHandlers) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	list, err := h.d.Defects(r.Context(), q.Get("home"), q.Get("open") == "1" || q.Get("open") == "true")
	if err != nil {
		woError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, DefectList{Defects: list})
}

func (h *defectHandlers) register(w http.ResponseWriter, r *http.Request) {
	var req workorders.DefectRequest
	if !decode(w, r, &req) {
		return
	}
	// The owner is who takes the defect: the credential's holder, or whom an admin acts for.
	who, status, err := actor(r, req.By)
	if err != nil {
		writeError(w, status, err.Error())
		return
	}
	req.By, req.OnBehalfOf = who.By, who.OnBehalfOf
	d, err := h.d.RegisterDefect(r.Context(), req)
	if err != nil {
		woError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, d)
}

func (h *defectHandlers) update(w http.ResponseWriter, r *http.Request) {
	var u workorders.DefectUpdate
	if !decode(w, r, &u) {
		return
	}
	who, status, err := actor(r, u.By)
	if err != nil {
		writeError(w, status, err.Error())
		return
	}
	u.By, u.OnBehalfOf = who.By, who.OnBehalfOf
	d, err := h.d.UpdateDefect(r.Context(), r.PathValue("id"), u)
	if err != nil {
		woError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, d)
}

// MeetingList is GET /api/v1/defects/meeting: the open defects, oldest first, for the regular
// meeting with the repair office.
type MeetingList struct {
	Items []workorders.MeetingItem `json:"items"`
}

func (h *defectHandlers) meeting(w http.ResponseWriter, r *http.Request) {
	items, err := h.d.DefectMeeting(r.Context())
	if err != nil {
		woError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, MeetingList{Items: items})
}

// ProblemList is GET /api/v1/workorders/problems?month=2026-03: the month's unsatisfied
// follow-up answers at every level, with the points found wanting.
type ProblemList struct {
	Month    string               `json:"month"`
	Problems []workorders.Problem `json:"problems"`
}

func (h *defectHandlers) problems(w http.ResponseWriter, r *http.Request) {
	month := r.URL.Query().Get("month")
	from, err := time.ParseInLocation("2006-01", month, h.d.Policy().Calendar.Location())
	if err != nil {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("month %q: give it as 2026-03", month))
		return
	}
	list, err := h.d.FollowUpProblems(r.Context(), from, from.AddDate(0, 1, 0))
	if err != nil {
		woError(w, err)
		return
	}
	if list == nil {
		list = []workorders.Problem{}
	}
	writeJSON(w, http.StatusOK, ProblemList{Month: month, Problems: list})
}
