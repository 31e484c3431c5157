package api

import (
	"context"
	"fmt"
	"net/http"
	"strconv"

	"github.com/facilityd/facilityd/workorders"
)

// Surveys is what the API needs from the residents' surveys (*workorders.Manager).
type Surveys interface {
	StartSurvey(ctx context.Context, r workorders.SurveyRequest) (*workorders.Survey, error)
	Survey(ctx context.Context, id string) (*workorders.Survey, error)
	AnswerSurvey(ctx context.Context, id string, a workorders.SurveyAnswer) (*workorders.Survey, error)
	YearSummary(ctx context.Context, year int) (*workorders.YearSummary, error)
}

// RegisterSurveys serves the surveys' routes through s.
func RegisterSurveys(s *Server, sv Surveys) {
	h := &surveyHandlers{s: sv}
	s.Handle("POST /api/v1/surveys", http.HandlerFunc(h.start))
	s.Handle("GET /api/v1/surveys/summary", http.HandlerFunc(h.summary))
	s.Handle("GET /api/v1/surveys/{id}", http.HandlerFunc(h.get))
	s.Handle("POST /api/v1/surveys/{id}/answers", http.HandlerFunc(h.answer))
}

type surveyHandlers struct{ s Surveys }

func (h *surveyHandlers) start(w http.ResponseWriter, r *http.Request) {
	var req workorders.SurveyRequest
	if !decode(w, r, &req) {
		return
	}
	var note string
	if !settleActor(w, r, &req.By, &note) {
		return
	}
	sv, err := h.s.StartSurvey(r.Context(), req)
	if err != nil {
		woError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, sv)
}

func (h *surveyHandlers) get(w http.ResponseWriter, r *http.Request) {
	sv, err := h.s.Survey(r.Context(), r.PathValue("id"))
	if err != nil {
		woError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, sv)
}

func (h *surveyHandlers) answer(w http.ResponseWriter, r *http.Request) {
	var a workorders.SurveyAnswer
	if !decode(w, r, &a) {
		return
	}
	// Who asked the resident is the credential's holder; an admin naming someone keeps both.
	who, status, err := actor(r, a.By)
	if err != nil {
		writeError(w, status, err.Error())
		return
	}
	a.By, a.OnBehalfOf = who.By, who.OnBehalfOf
	sv, err := h.s.AnswerSurvey(r.Context(), r.PathValue("id"), a)
	if err != nil {
		woError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, sv)
}

func (h *surveyHandlers) summary(w http.ResponseWriter, r *http.Request) {
	year, err := strconv.Atoi(r.URL.Query().Get("year"))
	if err != nil {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("year %q: give it as 2026", r.URL.Query().Get("year")))
		return
	}
	sum, err := h.s.YearSummary(r.Context(), year)
	if err != nil {
		woError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, sum)
}
