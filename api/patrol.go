package api

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/facilityd/facilityd/alarms/patrol"
)

// Patrol is what the patrol routes need of the patrol service (*patrol.Service).
type Patrol interface {
	Alerts(f patrol.Filter) []patrol.Alert
	Alert(id string) (patrol.Alert, bool)
	Claim(id, guard string) (patrol.Alert, error)
	Ack(id, by, note string) (patrol.Alert, error)
	Checklists() []patrol.Checklist
	CheckItem(item, by, note string) (patrol.Checklist, error)
	LinkAlert(token string) (patrol.Alert, patrol.Guard, error)
	ClaimLink(token string) (patrol.Alert, error)
	RunSelfTests(ctx context.Context) map[string]error
}

// ServePatrol adds the patrol routes (alerts, claims, the night checklist).
func (s *Server) ServePatrol(p Patrol) {
	s.Handle("GET /api/v1/patrol/alerts", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		writeJSON(w, http.StatusOK, map[string]any{"alerts": p.Alerts(patrol.Filter{Zone: q.Get("zone"), State: q.Get("state"), Owner: q.Get("owner")})})
	}))
	s.Handle("GET /api/v1/patrol/alerts/{id}", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a, ok := p.Alert(r.PathValue("id"))
		if !ok {
			writeError(w, http.StatusNotFound, "no patrol alert "+quote(r.PathValue("id"))+"; GET /api/v1/patrol/alerts lists them")
			return
		}
		writeJSON(w, http.StatusOK, a)
	}))
	s.Handle("POST /api/v1/patrol/alerts/{id}/claim", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body actBody
		if !readBody(w, r, &body) {
			return
		}
		a, err := p.Claim(r.PathValue("id"), body.By)
		respond(w, a, err)
	}))
	s.Handle("POST /api/v1/patrol/alerts/{id}/ack", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body actBody
		if !readBody(w, r, &body) {
			return
		}
		a, err := p.Ack(r.PathValue("id"), body.By, body.Note)
		respond(w, a, err)
	}))
	s.Handle("GET /api/v1/patrol/links/{token}", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a, g, err := p.LinkAlert(r.PathValue("token"))
		if err != nil {
			respond(w, nil, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"alert": a, "guard": g})
	}))
	s.Handle("POST /api/v1/patrol/links/{token}/claim", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The body says nothing: who claims is the token's guard.
		var body struct{}
		if err := decodeBody(w, r, &body); err != nil && !errors.Is(err, errNoBody) {
			writeError(w, bodyStatus(err), err.Error())
			return
		}
		a, err := p.ClaimLink(r.PathValue("token"))
		respond(w, a, err)
	}))
	// The daily self-test of the phone channels, now: after changing a SIM or a robot's key.
	s.Handle("POST /api/v1/patrol/self-test", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct{}
		if err := decodeBody(w, r, &body); err != nil && !errors.Is(err, errNoBody) {
			writeError(w, bodyStatus(err), err.Error())
			return
		}
		out := map[string]string{}
		for name, err := range p.RunSelfTests(r.Context()) {
			out[name] = err.Error()
		}
		writeJSON(w, http.StatusOK, map[string]any{"failed": out})
	}))
	s.Handle("GET /api/v1/patrol/checklist", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"checklists": p.Checklists()})
	}))
	s.Handle("POST /api/v1/patrol/checklist/{item}/done", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body actBody
		if !readBody(w, r, &body) {
			return
		}
		c, err := p.CheckItem(r.PathValue("item"), body.By, body.Note)
		respond(w, c, err)
	}))
}

// actBody is the body of every patrol action: who acts, and an optional note.
type actBody struct {
	By   string `json:"by"`
	Note string `json:"note"`
}

// readBody decodes a small JSON body strictly (unknown fields are errors) and settles who
// acts (see actor).
func readBody(w http.ResponseWriter, r *http.Request, v *actBody) bool {
	if err := decodeBody(w, r, v); err != nil {
		if errors.Is(err, errNoBody) {
			writeError(w, http.StatusBadRequest, `empty body: send {"by": "guard-id"}`)
			return false
		}
		writeError(w, bodyStatus(err), err.Error())
		return false
	}
	who, status, err := actor(r, v.By)
	if err != nil {
		writeError(w, status, err.Error())
		return false
	}
	// The guard acts: the token's, or the one an admin acts for (the note keeps the admin).
	v.By = who.By
	if who.OnBehalfOf != "" {
		v.By = who.OnBehalfOf
		v.Note = strings.TrimSuffix("by "+who.By+" on its behalf; "+v.Note, "; ")
	}
	return true
}

func respond(w http.ResponseWriter, v any, err error) {
	var claimed *patrol.ClaimedError
	switch {
	case err == nil:
		writeJSON(w, http.StatusOK, v)
	case errors.As(err, &claimed):
		writeJSON(w, http.StatusConflict, map[string]any{"error": err.Error(), "owner": claimed.Owner, "claimed_at": claimed.At})
	case errors.Is(err, patrol.ErrNotFound), errors.Is(err, patrol.ErrNoItem):
		writeError(w, http.StatusNotFound, err.Error())
	case errors.Is(err, patrol.ErrUnknownGuard):
		writeError(w, http.StatusUnprocessableEntity, err.Error())
	case errors.Is(err, patrol.ErrNotYourZone), errors.Is(err, patrol.ErrBadLink):
		writeError(w, http.StatusForbidden, err.Error())
	case errors.Is(err, patrol.ErrClosed):
		writeError(w, http.StatusConflict, err.Error())
	default:
		writeError(w, http.StatusInternalServerError, err.Error())
	}
}
